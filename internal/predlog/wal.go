package predlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
	"unsafe"
)

// WAL framing. A segment file is the 8-byte segmentMagic followed by frames:
//
//	frame   = length u32le (payload bytes) | crc32c u32le (of the payload) | payload
//	payload = count uvarint (>= 1) | record × count
//	record  = str request_id | str inference_id | varint row | str endpoint | str model |
//	          str model_version | str role | varint time (µs since the epoch, UTC) |
//	          varint latency_micros | varint status | str error | str inputs | str outputs |
//	          str subject_id
//	str     = uvarint byte length | bytes
//
// One Append is one frame, copied into the segment at once: a crash leaves either the
// whole frame or a torn tail that the length or the CRC exposes, so a batch is in or
// out. A memory-mapped segment is preallocated: zeros after the last frame are free
// space, not a torn frame.
const (
	segmentMagic   = "PLPLOG\x00\x01" // format name and version 1
	frameHeaderLen = 8
	// maxFramePayload bounds one Append. A request this large is a caller bug; the bound
	// also keeps a damaged length field from making the reader allocate gigabytes.
	maxFramePayload = 256 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errFrameTooLarge is returned (wrapped) when one Append encodes beyond maxFramePayload.
var errFrameTooLarge = errors.New("batch too large for one log frame")

// appendFrame encodes recs as one frame at the end of dst. Records whose Time is zero
// get now. It only allocates when dst has to grow.
func appendFrame(dst []byte, recs []Record, now time.Time) ([]byte, error) {
	return appendFrameLimit(dst, recs, now, maxFramePayload)
}

// appendFrameLimit is appendFrame with a given payload limit; on error dst comes back
// as it was.
func appendFrameLimit(dst []byte, recs []Record, now time.Time, limit int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderLen)...)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		t := r.Time
		if t.IsZero() {
			t = now
		}
		dst = appendString(dst, r.RequestID)
		dst = appendString(dst, r.InferenceID)
		dst = binary.AppendVarint(dst, int64(r.Row))
		dst = appendString(dst, r.Endpoint)
		dst = appendString(dst, r.Model)
		dst = appendString(dst, r.ModelVersion)
		dst = appendString(dst, r.Role)
		dst = binary.AppendVarint(dst, t.UnixMicro())
		dst = binary.AppendVarint(dst, r.LatencyMicros)
		dst = binary.AppendVarint(dst, int64(r.Status))
		dst = appendString(dst, r.Error)
		dst = appendString(dst, r.Inputs)
		dst = appendString(dst, r.Outputs)
		dst = appendString(dst, r.SubjectID)
	}
	payload := dst[start+frameHeaderLen:]
	if len(payload) > limit {
		return dst[:start], fmt.Errorf("predlog: %d records encode to %d bytes: %w (limit %d)", len(recs), len(payload), errFrameTooLarge, limit)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, crcTable))
	return dst, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// frameScan is the outcome of decoding a segment's frames.
type frameScan struct {
	Records []Record
	// Used is the number of bytes of the good frames.
	Used int
	// Tail is the number of bytes after the last good frame: a torn write of a crash
	// (or damage), ignored. TailReason says what was wrong with them.
	Tail       int
	TailReason string
}

// decodeFrames decodes the frames of data (a segment without its magic). The records'
// strings point into data, which must not change while they are in use. It stops at
// the first incomplete or damaged frame; everything before it is returned. Allocation
// is bounded by len(data): record counts and string lengths are checked against the
// bytes that remain before anything is allocated.
func decodeFrames(data []byte) frameScan {
	var out frameScan
	off := 0
	for off < len(data) {
		rest := data[off:]
		if allZero(rest) {
			return out // the unused end of a preallocated segment
		}
		if len(rest) < frameHeaderLen {
			out.Tail, out.TailReason = len(rest), fmt.Sprintf("%d bytes at offset %d are shorter than a frame header", len(rest), off)
			return out
		}
		n := binary.LittleEndian.Uint32(rest)
		if n == 0 || uint64(n) > uint64(len(rest)-frameHeaderLen) {
			out.Tail, out.TailReason = len(rest), fmt.Sprintf("frame at offset %d claims %d payload bytes, %d remain", off, n, len(rest)-frameHeaderLen)
			return out
		}
		payload := rest[frameHeaderLen : frameHeaderLen+int(n)]
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(rest[4:]) {
			out.Tail, out.TailReason = len(rest), fmt.Sprintf("frame at offset %d fails its CRC", off)
			return out
		}
		recs, err := decodePayload(payload, out.Records)
		if err != nil {
			out.Tail, out.TailReason = len(rest), fmt.Sprintf("frame at offset %d: %v", off, err)
			return out
		}
		out.Records = recs
		off += frameHeaderLen + int(n)
		out.Used = off
	}
	return out
}

// decodePayload appends the records of one frame to dst. On error dst is returned
// unchanged in length, so a bad frame contributes nothing.
func decodePayload(p []byte, dst []Record) ([]Record, error) {
	d := decoder{b: p}
	count := d.uvarint()
	// The smallest record is 14 one-byte fields, which bounds the count.
	if d.err == nil && (count == 0 || count > uint64(len(d.b))/14) {
		return dst, fmt.Errorf("record count %d does not fit %d bytes", count, len(p))
	}
	keep := len(dst)
	for i := uint64(0); i < count && d.err == nil; i++ {
		var r Record
		r.RequestID = d.str()
		r.InferenceID = d.str()
		r.Row = d.int32()
		r.Endpoint = d.str()
		r.Model = d.str()
		r.ModelVersion = d.str()
		r.Role = d.str()
		r.Time = time.UnixMicro(d.varint()).UTC()
		r.LatencyMicros = d.varint()
		r.Status = d.int32()
		r.Error = d.str()
		r.Inputs = d.str()
		r.Outputs = d.str()
		r.SubjectID = d.str()
		dst = append(dst, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes left after %d records", len(d.b), count)
	}
	if d.err != nil {
		return dst[:keep], d.err
	}
	return dst, nil
}

// decoder reads varints and strings from a byte slice; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v != int64(int32(v)) && d.err == nil {
		d.err = fmt.Errorf("value %d overflows int32", v)
	}
	return int32(v)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("string of %d bytes, %d remain", n, len(d.b))
		return ""
	}
	if n == 0 {
		return ""
	}
	// The string shares the segment's bytes instead of copying them: the records of a
	// segment live as long as its buffer, which nothing writes to after the read.
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}
