package lightgbm

import (
	"fmt"
	"math"
)

// Decision flags of a compiled node. LightGBM's decision_type packs categorical (bit 0),
// default-left (bit 1) and the missing type (bits 2–3); we store what traversal needs.
const (
	// flagMissingLeft (the value 1, used as a child index): where NaN goes. For missing
	// type None NaN is read as 0.0, so this is the answer of 0.0 <= threshold; for types
	// Zero and NaN it is the default direction.
	flagMissingLeft uint8 = 1 << iota
	flagCategorical
	// flagZeroMissing: missing type Zero, values with |x| <= 1e-35 take the default direction
	// (which is then the flagMissingLeft direction too).
	flagZeroMissing
)

// kZeroThreshold is LightGBM's kZeroThreshold (1e-35f), widened to double as C++ compares it.
var kZeroThreshold = float64(float32(1e-35))

// node is one internal node in the flat node array shared by all trees (24 bytes).
type node struct {
	// threshold is the numerical split value (go left iff x <= threshold). Categorical
	// nodes keep their bitset's start and word count here instead (see catRange).
	threshold float64
	feature   int32
	// child[1] is taken when the decision says left, child[0] otherwise (indexing by the
	// decision keeps traversal free of unpredictable branches): indices in Model.nodes.
	// A leaf is a node whose children are itself.
	child [2]int32
	flags uint8
}

func catPacked(start, words uint32) float64 {
	return math.Float64frombits(uint64(start)<<32 | uint64(words))
}

func (n *node) catRange() (start, words uint32) {
	b := math.Float64bits(n.threshold)
	return uint32(b >> 32), uint32(b)
}

// tree locates one tree in the node array.
type tree struct {
	root       int32
	firstLeaf  int32 // nodes from here on are the tree's leaves
	leafOffset int32 // leaf node index - leafOffset = index in Model.leafValue
	depth      int32 // the most steps from the root to a leaf
	linear     bool
}

// linearLeaf is a linear tree's leaf model: constant + Σ coeff·x over its features.
type linearLeaf struct {
	constant float64
	start    int32 // first entry in Model.linFeature / Model.linCoeff
	count    int32
}

// builder appends validated, compiled trees to a Model.
type builder struct {
	m           *Model
	numFeatures int
	catFeature  []bool // features used by a categorical split
}

// addTree checks one Tree= block and compiles it into the model's flat arrays. After it
// succeeds, traversal from the tree's root reaches a leaf in at most num_leaves-1 steps.
func (b *builder) addTree(t fileTree) error {
	kv := t.kv
	numLeaves, err := intValue(kv, "num_leaves")
	if err != nil {
		return err
	}
	if numLeaves < 1 {
		return fmt.Errorf("num_leaves=%d, want at least 1", numLeaves)
	}
	numCat, err := intValue(kv, "num_cat")
	if err != nil {
		return err
	}
	if numCat < 0 {
		return fmt.Errorf("num_cat=%d", numCat)
	}
	// leaf_value proves num_leaves before anything of that size is allocated.
	leafValues, err := floats(kv, "leaf_value", numLeaves)
	if err != nil {
		return err
	}
	linear := false
	if s, ok := kv["is_linear"]; ok && s != "0" {
		if s != "1" {
			return fmt.Errorf("is_linear=%q, want 0 or 1", clip(s))
		}
		linear = true
	}

	m := b.m
	if len(m.nodes)+2*numLeaves > math.MaxInt32 {
		return fmt.Errorf("model has more than 2^31 nodes")
	}
	// The tree's internal nodes, then its leaves as nodes that lead to themselves, so a
	// walk can take a fixed number of steps (see addGroup).
	internal := numLeaves - 1
	nodeBase := int32(len(m.nodes))
	tr := tree{
		root:       nodeBase,
		firstLeaf:  nodeBase + int32(internal),
		leafOffset: nodeBase + int32(internal) - int32(len(m.leafValue)),
		linear:     linear,
	}
	if internal > 0 {
		depth, err := b.addNodes(kv, numLeaves, numCat, nodeBase)
		if err != nil {
			return err
		}
		tr.depth = depth
	}
	for l := int32(0); l < int32(numLeaves); l++ {
		self := tr.firstLeaf + l
		m.nodes = append(m.nodes, node{child: [2]int32{self, self}})
	}
	leafBase := len(m.leafValue)
	m.leafValue = append(m.leafValue, leafValues...)
	m.trees = append(m.trees, tr)
	if linear {
		if err := b.addLinearLeaves(kv, numLeaves, leafBase); err != nil {
			return err
		}
	}
	return nil
}

// addNodes checks the internal nodes of a tree with numLeaves > 1, appends them and
// returns the tree's depth (the most steps from the root to a leaf).
func (b *builder) addNodes(kv map[string]string, numLeaves, numCat int, nodeBase int32) (int32, error) {
	internal := numLeaves - 1
	splitFeature, err := ints(kv, "split_feature", internal)
	if err != nil {
		return 0, err
	}
	threshold, err := floats(kv, "threshold", internal)
	if err != nil {
		return 0, err
	}
	left, err := ints(kv, "left_child", internal)
	if err != nil {
		return 0, err
	}
	right, err := ints(kv, "right_child", internal)
	if err != nil {
		return 0, err
	}
	decision := make([]int32, internal) // LightGBM's default when the key is absent
	if _, ok := kv["decision_type"]; ok {
		if decision, err = ints(kv, "decision_type", internal); err != nil {
			return 0, err
		}
	}
	var catBoundaries []int32
	var catWords []uint32
	if numCat > 0 {
		if catBoundaries, err = ints(kv, "cat_boundaries", numCat+1); err != nil {
			return 0, err
		}
		if catBoundaries[0] != 0 {
			return 0, fmt.Errorf("cat_boundaries[0]=%d, want 0", catBoundaries[0])
		}
		for i := 1; i < len(catBoundaries); i++ {
			if catBoundaries[i] < catBoundaries[i-1] {
				return 0, fmt.Errorf("cat_boundaries decrease at %d", i)
			}
		}
		if catWords, err = uints(kv, "cat_threshold", int(catBoundaries[numCat])); err != nil {
			return 0, err
		}
	}

	depth, err := checkStructure(left, right, numLeaves)
	if err != nil {
		return 0, err
	}
	m := b.m
	catBase := len(m.catBits)
	if len(m.catBits)+len(catWords) > math.MaxUint32 {
		return 0, fmt.Errorf("categorical bitsets too large")
	}
	m.catBits = append(m.catBits, catWords...)
	child := func(c int32) int32 {
		if c >= 0 {
			return nodeBase + c
		}
		return nodeBase + int32(numLeaves-1) + ^c
	}
	for i := 0; i < internal; i++ {
		f := splitFeature[i]
		if f < 0 || int(f) >= b.numFeatures {
			return 0, fmt.Errorf("split_feature[%d]=%d, model has %d features", i, f, b.numFeatures)
		}
		dt := decision[i]
		if dt < 0 || dt > 127 {
			return 0, fmt.Errorf("decision_type[%d]=%d", i, dt)
		}
		n := node{feature: f, child: [2]int32{child(right[i]), child(left[i])}}
		defaultLeft := dt&2 != 0
		// LightGBM only looks at the categorical bit when the tree has categories.
		if dt&1 != 0 && numCat > 0 {
			k := threshold[i]
			if k != math.Trunc(k) || k < 0 || k >= float64(numCat) {
				return 0, fmt.Errorf("threshold[%d]=%v: categorical split needs a category set index in [0,%d)", i, k, numCat)
			}
			lo, hi := catBoundaries[int(k)], catBoundaries[int(k)+1]
			n.threshold = catPacked(uint32(catBase)+uint32(lo), uint32(hi-lo))
			n.flags = flagCategorical
			b.catFeature[f] = true
		} else {
			n.threshold = zeroSnappedThreshold(threshold[i])
			switch (dt >> 2) & 3 {
			case 1: // Zero
				n.flags = flagZeroMissing
				if defaultLeft {
					n.flags |= flagMissingLeft
				}
			case 2: // NaN
				if defaultLeft {
					n.flags = flagMissingLeft
				}
			default: // None (and the unused 3): NaN is read as 0.0
				if 0.0 <= n.threshold {
					n.flags = flagMissingLeft
				}
			}
		}
		m.nodes = append(m.nodes, n)
	}
	return depth, nil
}

// zeroSnappedThreshold folds in what lightgbm's predict does before any tree sees a row:
// inputs with |x| <= kZeroThreshold are read as 0. Only thresholds within ±kZeroThreshold
// (LightGBM puts split points exactly there) can tell x from 0, so those move to the edge
// of the zero band: then "x <= threshold" on the raw input answers as "0 <= threshold"
// inside the band and as before outside it. 0 <= threshold, the NaN direction for missing
// type None, is unchanged.
func zeroSnappedThreshold(t float64) float64 {
	switch {
	case t >= 0 && t <= kZeroThreshold:
		return kZeroThreshold
	case t < 0 && t >= -kZeroThreshold:
		return math.Nextafter(-kZeroThreshold, math.Inf(-1))
	}
	return t
}

// checkStructure proves that left/right describe a binary tree rooted at node 0 and
// returns its depth: every child index is in range, the root has no parent, and every
// other node and every leaf has exactly one (2·internal child slots, none reused, cover
// the internal-1 other nodes and the numLeaves leaves). Then a walk from the root cannot
// cycle and ends at a leaf within internal steps.
func checkStructure(left, right []int32, numLeaves int) (int32, error) {
	internal := numLeaves - 1
	nodeParents := make([]uint8, internal)
	leafParents := make([]uint8, numLeaves)
	for i := 0; i < internal; i++ {
		for side, c := range [2]int32{left[i], right[i]} {
			name := [2]string{"left_child", "right_child"}[side]
			switch {
			case c >= 0 && int(c) < internal:
				if c == 0 {
					return 0, fmt.Errorf("%s[%d]=0: the root cannot be a child", name, i)
				}
				if nodeParents[c]++; nodeParents[c] > 1 {
					return 0, fmt.Errorf("%s[%d]=%d: node %d has two parents", name, i, c, c)
				}
			case c < 0 && int(^c) < numLeaves:
				if leafParents[^c]++; leafParents[^c] > 1 {
					return 0, fmt.Errorf("%s[%d]=%d: leaf %d has two parents", name, i, c, ^c)
				}
			default:
				return 0, fmt.Errorf("%s[%d]=%d out of range (%d nodes, %d leaves)", name, i, c, internal, numLeaves)
			}
		}
	}
	// Depth by a walk over the (now proven) tree; the stack never holds more than
	// numLeaves entries.
	type entry struct{ node, depth int32 }
	stack := []entry{{0, 0}}
	var depth int32
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int32{left[e.node], right[e.node]} {
			if c >= 0 {
				stack = append(stack, entry{c, e.depth + 1})
			} else if e.depth+1 > depth {
				depth = e.depth + 1
			}
		}
	}
	return depth, nil
}

// addLinearLeaves reads a linear tree's leaf models.
func (b *builder) addLinearLeaves(kv map[string]string, numLeaves, leafBase int) error {
	m := b.m
	// Leaves of earlier non-linear trees get empty entries so indices line up.
	for len(m.linear) < leafBase {
		m.linear = append(m.linear, linearLeaf{})
	}
	consts := make([]float64, numLeaves) // LightGBM's default when absent
	var err error
	if _, ok := kv["leaf_const"]; ok {
		if consts, err = floats(kv, "leaf_const", numLeaves); err != nil {
			return err
		}
	}
	counts := make([]int32, numLeaves)
	if _, ok := kv["num_features"]; ok {
		if counts, err = ints(kv, "num_features", numLeaves); err != nil {
			return err
		}
	}
	total := int64(0)
	for i, c := range counts {
		if c < 0 {
			return fmt.Errorf("num_features[%d]=%d", i, c)
		}
		total += int64(c)
	}
	var feats []int32
	var coeffs []float64
	if total > 0 {
		if total > int64(countFields(kv["leaf_features"])) {
			return fmt.Errorf("num_features sums to %d, leaf_features has %d entries", total, countFields(kv["leaf_features"]))
		}
		if feats, err = ints(kv, "leaf_features", int(total)); err != nil {
			return err
		}
		if coeffs, err = floats(kv, "leaf_coeff", int(total)); err != nil {
			return err
		}
	}
	if len(m.linFeature)+len(feats) > math.MaxInt32 {
		return fmt.Errorf("linear leaves too large")
	}
	for i, f := range feats {
		if f < 0 || int(f) >= b.numFeatures {
			return fmt.Errorf("leaf_features[%d]=%d, model has %d features", i, f, b.numFeatures)
		}
	}
	start := int32(len(m.linFeature))
	m.linFeature = append(m.linFeature, feats...)
	m.linCoeff = append(m.linCoeff, coeffs...)
	for i := 0; i < numLeaves; i++ {
		m.linear = append(m.linear, linearLeaf{constant: consts[i], start: start, count: counts[i]})
		start += counts[i]
	}
	return nil
}
