package mlmodel

import (
	"encoding/json"
	"fmt"
)

// Signature is a model's declared inputs, outputs and inference params.
type Signature struct {
	Inputs  *Schema
	Outputs *Schema
	// Params is the raw params schema (a JSON list), kept for display.
	Params json.RawMessage
}

// Schema is either column-based (Columns) or tensor-based (Tensors), never both.
type Schema struct {
	Columns []ColSpec
	Tensors []TensorSpec
}

// ColSpec is one named (or, when Name is "", positional) column.
type ColSpec struct {
	Name string
	// Type is MLflow's data type: boolean, integer, long, float, double, string, binary,
	// datetime; or array, object, map for nested values.
	Type     string
	Required bool
}

// TensorSpec is a tensor input: numpy dtype and shape, -1 for variable dimensions.
type TensorSpec struct {
	Name  string
	DType string
	Shape []int
}

// IsTensor reports whether the schema is tensor-based.
func (s *Schema) IsTensor() bool { return s != nil && len(s.Tensors) > 0 }

// HasNames reports whether columns are named (else they are matched by position).
func (s *Schema) HasNames() bool {
	for _, c := range s.Columns {
		if c.Name == "" {
			return false
		}
	}
	return len(s.Columns) > 0
}

type rawSpec struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Required   *bool  `json:"required"`
	TensorSpec *struct {
		DType string `json:"dtype"`
		Shape []int  `json:"shape"`
	} `json:"tensor-spec"`
}

func parseSignature(raw *rawSignature) (*Signature, error) {
	sig := &Signature{}
	var err error
	if sig.Inputs, err = parseSchema("inputs", raw.Inputs); err != nil {
		return nil, err
	}
	if sig.Outputs, err = parseSchema("outputs", raw.Outputs); err != nil {
		return nil, err
	}
	if raw.Params != "" && raw.Params != "null" {
		sig.Params = json.RawMessage(raw.Params)
	}
	return sig, nil
}

func parseSchema(what, s string) (*Schema, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var specs []rawSpec
	if err := decodeJSON(what, s, &specs); err != nil {
		return nil, err
	}
	schema := &Schema{}
	for i, sp := range specs {
		if sp.Type == "tensor" {
			if sp.TensorSpec == nil {
				return nil, fmt.Errorf("%s[%d]: tensor without tensor-spec", what, i)
			}
			schema.Tensors = append(schema.Tensors, TensorSpec{Name: sp.Name, DType: sp.TensorSpec.DType, Shape: sp.TensorSpec.Shape})
			continue
		}
		if sp.Type == "" {
			return nil, fmt.Errorf("%s[%d]: column without a type", what, i)
		}
		required := true // MLflow's default when the field is absent (older models)
		if sp.Required != nil {
			required = *sp.Required
		}
		schema.Columns = append(schema.Columns, ColSpec{Name: sp.Name, Type: sp.Type, Required: required})
	}
	if len(schema.Columns) > 0 && len(schema.Tensors) > 0 {
		return nil, fmt.Errorf("%s: mixes column and tensor specs", what)
	}
	return schema, nil
}
