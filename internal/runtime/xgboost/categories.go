package xgboost

import "fmt"

// readCategories reads the categories container that xgboost ≥3.1 saves with models
// trained on categorical data ("cats"): for each feature, the training categories in
// code order, so that raw values can be recoded. String categories are stored
// arrow-style as one byte array ("values") cut by "offsets"; numeric categories carry a
// "type" and are left alone (Feature.Categories lists strings only).
func (m *Model) readCategories(model map[string]any, path string) error {
	cats, ok := model["cats"].(map[string]any)
	if !ok {
		return nil
	}
	path += ".cats"
	enc, ok := cats["enc"].([]any)
	if !ok || len(enc) == 0 {
		return nil // no categorical features
	}
	if len(enc) != len(m.features) {
		return fmt.Errorf("%s.enc: %d entries for %d features", path, len(enc), len(m.features))
	}
	for i, e := range enc {
		p := fmt.Sprintf("%s.enc[%d]", path, i)
		col, err := object(e, p)
		if err != nil {
			return err
		}
		if _, numeric := col["type"]; numeric {
			continue
		}
		offsets, err := ints(col, "offsets", p)
		if err != nil {
			return err
		}
		values, err := ints(col, "values", p)
		if err != nil {
			return err
		}
		if len(offsets) == 0 {
			continue // not a categorical feature
		}
		if offsets[0] != 0 || offsets[len(offsets)-1] != int64(len(values)) {
			return fmt.Errorf("%s.offsets: must run from 0 to %d", p, len(values))
		}
		raw := make([]byte, len(values))
		for j, b := range values {
			if b < 0 || b > 255 {
				return fmt.Errorf("%s.values[%d]: %d is not a byte", p, j, b)
			}
			raw[j] = byte(b)
		}
		names := make([]string, len(offsets)-1)
		for j := range names {
			lo, hi := offsets[j], offsets[j+1]
			if hi < lo || hi > int64(len(raw)) {
				return fmt.Errorf("%s.offsets[%d]: %d is out of order or past the %d bytes of values", p, j+1, hi, len(raw))
			}
			names[j] = string(raw[lo:hi])
		}
		m.features[i].Categories = names
		m.features[i].Categorical = true
	}
	return nil
}
