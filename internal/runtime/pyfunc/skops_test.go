package pyfunc

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func npy(header string, data []byte) []byte {
	h := header
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), data...)
}

func TestReadNpyLabels(t *testing.T) {
	t.Parallel()
	ints, err := readNpyLabels(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", []byte{3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0}))
	if err != nil || len(ints.ints) != 2 || ints.ints[0] != 3 || ints.ints[1] != 9 {
		t.Fatalf("ints: %+v %v", ints, err)
	}
	strs, err := readNpyLabels(npy("{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }", []byte{'n', 0, 0, 0, 'o', 0, 0, 0, 'y', 0, 0, 0, 0, 0, 0, 0}))
	if err != nil || strings.Join(strs.strings, ",") != "no,y" {
		t.Fatalf("strings: %+v %v", strs, err)
	}
	for name, b := range map[string][]byte{
		"not npy":       []byte("hello"),
		"too many rows": npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000,), }", make([]byte, 16)),
		"2-d":           npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", make([]byte, 32)),
		"big endian":    npy("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)),
		"object dtype":  npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)),
		"header beyond": append([]byte("\x93NUMPY\x01\x00"), 0xff, 0xff),
	} {
		if _, err := readNpyLabels(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzReadNpyLabels(f *testing.F) {
	f.Add(npy("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", make([]byte, 12)))
	f.Add(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := readNpyLabels(b)
		if err == nil && l.len() > len(b) {
			t.Fatalf("%d labels from %d bytes", l.len(), len(b))
		}
	})
}

func TestSkopsErrors(t *testing.T) {
	t.Parallel()
	zipOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range files {
			w, _ := zw.Create(name)
			w.Write([]byte(body))
		}
		zw.Close()
		return buf.Bytes()
	}
	for name, b := range map[string][]byte{
		"not a zip":   []byte("PK\x03\x04garbage"),
		"no schema":   zipOf(map[string]string{"x.npy": ""}),
		"bad json":    zipOf(map[string]string{"schema.json": "{"}),
		"not fitted":  zipOf(map[string]string{"schema.json": `{"__loader__": "ObjectNode", "content": {"__loader__": "DictNode", "content": {}}}`}),
		"handle type": zipOf(map[string]string{"schema.json": `{"__loader__": "ObjectNode", "content": {"__loader__": "DictNode", "content": {"_Booster": {"__loader__": "ObjectNode", "content": {"__loader__": "DictNode", "content": {"_handle": {"__loader__": "JsonNode", "__class__": "int", "content": "1"}}}}}}}`}),
	} {
		if _, err := readSkopsLightGBM(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	real, err := os.ReadFile(filepath.Join(mlflowFixtures, "lgb-classifier-skops", "model", "model.skops"))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := readSkopsLightGBM(real)
	if err != nil || !bytes.HasPrefix(sk.booster, []byte("tree\n")) || strings.Join(sk.classes.strings, ",") != "no,yes" {
		t.Fatalf("real skops file: %v, classes %+v", err, sk)
	}
}
