package tabular

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// valueConv turns the Parquet values of one column into a Column's type.
//
// Mapping: BOOLEAN → boolean; INT32/INT64 (any signed or unsigned width) → long;
// FLOAT/DOUBLE → double; BYTE_ARRAY (string, enum, JSON or plain binary) → string.
// Timestamps (and legacy INT96 timestamps) → string in RFC 3339 form with up to
// nanosecond digits and a Z when the file says the values are UTC-adjusted (this is how
// MLflow's JSON input carries datetimes, and it loses nothing); DATE → "2006-01-02"
// string; a column of pyarrow's null type → double, every value missing. Decimals,
// times of day, float16, UUID, intervals and other fixed-length binary are refused
// with the column's name.
type valueConv struct {
	kind convKind
	unit time.Duration // timestamps: the length of one stored unit
	utc  bool
}

type convKind uint8

const (
	convBool convKind = iota
	convInt32
	convUint32
	convInt64
	convUint64
	convFloat
	convDouble
	convString
	convTimestamp
	convInt96
	convDate
	convNull
)

func parquetConv(t parquet.Type) (valueConv, Type, error) {
	lt := t.LogicalType()
	var ltv format.LogicalTypeValue
	if lt != nil {
		ltv = lt.Value
	}
	switch l := ltv.(type) {
	case *format.DecimalType:
		return valueConv{}, 0, fmt.Errorf("decimal(%d, %d) values are not supported; cast the column to float64 before writing the file", l.Precision, l.Scale)
	case *format.TimeType:
		return valueConv{}, 0, errors.New("time-of-day values are not supported")
	case *format.Float16Type:
		return valueConv{}, 0, errors.New("float16 values are not supported; cast the column to float32 or float64")
	case *format.NullType:
		return valueConv{kind: convNull}, Float64, nil
	case *format.DateType:
		return valueConv{kind: convDate}, String, nil
	case *format.TimestampType:
		conv := valueConv{kind: convTimestamp, utc: l.IsAdjustedToUTC}
		switch l.Unit.Value.(type) {
		case *format.MilliSeconds:
			conv.unit = time.Millisecond
		case *format.MicroSeconds:
			conv.unit = time.Microsecond
		case *format.NanoSeconds:
			conv.unit = time.Nanosecond
		default:
			return valueConv{}, 0, fmt.Errorf("timestamp unit %s is not supported", &l.Unit)
		}
		return conv, String, nil
	case *format.IntType:
		switch {
		case !l.IsSigned && l.BitWidth == 64:
			return valueConv{kind: convUint64}, Int64, nil
		case !l.IsSigned && l.BitWidth == 32:
			return valueConv{kind: convUint32}, Int64, nil
		}
	case nil, *format.StringType, *format.EnumType, *format.JsonType:
	default:
		if t.Kind() != parquet.ByteArray {
			return valueConv{}, 0, fmt.Errorf("logical type %s is not supported", lt)
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		return valueConv{kind: convBool}, Bool, nil
	case parquet.Int32:
		return valueConv{kind: convInt32}, Int64, nil
	case parquet.Int64:
		return valueConv{kind: convInt64}, Int64, nil
	case parquet.Int96:
		return valueConv{kind: convInt96}, String, nil
	case parquet.Float:
		return valueConv{kind: convFloat}, Float64, nil
	case parquet.Double:
		return valueConv{kind: convDouble}, Float64, nil
	case parquet.ByteArray:
		return valueConv{kind: convString}, String, nil
	}
	return valueConv{}, 0, fmt.Errorf("physical type %s is not supported", t.Kind())
}

// append adds v as row `at` of col (col already holds rows before at).
func (c valueConv) append(col *Column, v parquet.Value, at int) error {
	if v.IsNull() || c.kind == convNull {
		markNull(col, at)
		switch col.Type {
		case Float64:
			col.Floats = append(col.Floats, math.NaN())
		case Int64:
			col.Ints = append(col.Ints, 0)
		case Bool:
			col.Bools = append(col.Bools, false)
		case String:
			col.Strings = append(col.Strings, "")
		}
		return nil
	}
	switch c.kind {
	case convBool:
		col.Bools = append(col.Bools, v.Boolean())
	case convInt32:
		col.Ints = append(col.Ints, int64(v.Int32()))
	case convUint32:
		col.Ints = append(col.Ints, int64(uint32(v.Int32())))
	case convInt64:
		col.Ints = append(col.Ints, v.Int64())
	case convUint64:
		u := uint64(v.Int64())
		if u > math.MaxInt64 {
			return fmt.Errorf("row %d: %d does not fit a signed 64-bit integer", at+1, u)
		}
		col.Ints = append(col.Ints, int64(u))
	case convFloat:
		col.Floats = append(col.Floats, float64(v.Float()))
	case convDouble:
		col.Floats = append(col.Floats, v.Double())
	case convString:
		col.Strings = append(col.Strings, string(v.ByteArray()))
	case convDate:
		d := time.Unix(int64(v.Int32())*86400, 0).UTC()
		col.Strings = append(col.Strings, d.Format(time.DateOnly))
	case convTimestamp:
		col.Strings = append(col.Strings, formatTimestamp(unitTime(v.Int64(), c.unit), c.utc))
	case convInt96:
		// Legacy Impala/Spark timestamps: nanoseconds of the day, then the Julian day.
		x := v.Int96()
		nanos := int64(x[1])<<32 | int64(x[0])
		days := int64(x[2]) - 2440588 // Julian day of 1970-01-01
		t := time.Unix(days*86400, 0).UTC().Add(time.Duration(nanos))
		col.Strings = append(col.Strings, formatTimestamp(t, false))
	}
	return nil
}

func unitTime(n int64, unit time.Duration) time.Time {
	switch unit {
	case time.Millisecond:
		return time.UnixMilli(n).UTC()
	case time.Microsecond:
		return time.UnixMicro(n).UTC()
	}
	return time.Unix(0, n).UTC()
}

// formatTimestamp writes RFC 3339 with only the fraction digits needed; a time without
// a zone (not UTC-adjusted in the file) gets no Z.
func formatTimestamp(t time.Time, utc bool) string {
	if utc {
		return t.Format("2006-01-02T15:04:05.999999999Z")
	}
	return t.Format("2006-01-02T15:04:05.999999999")
}
