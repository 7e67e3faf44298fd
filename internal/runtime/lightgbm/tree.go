package lightgbm

import (
	"fmt"
	"math"
)

// A compiled node is 16 bytes. All trees share Model.nodes: a tree is a root slot, then
// the two children of each split in adjacent slots (left, then right), laid out
// depth-first with the child more training rows took placed first, so that the common
// paths run through consecutive slots and a walk touches few cache lines.
//
// A split's threshold decides: go left iff x <= threshold, where x is read from one of
// the views of the row that the extended row holds side by side (see extendRow): the
// raw value when missing values go right; the value with NaN read as -Inf when they go
// left; and for missing type Zero, the value with NaN and zeros (|x| <= 1e-35) read as
// -Inf, or as +Inf, after the default direction. Between them they cover LightGBM's
// numerical splits: missing type None reads NaN as 0.0, which goes where
// 0.0 <= threshold says; types NaN and Zero send missing values the default way. So a
// split is one comparison. Categorical splits, and the thresholds that a view would
// get wrong, are decided by slowDecision instead.
//
// A leaf slot leads to itself: its threshold is a NaN, so every row goes right, to its
// own slot, and walks in lockstep can take extra steps at a leaf without a test. The
// NaN's payload is the leaf's index in Model.leafValue (see leafSlot).
type node struct {
	threshold float64
	meta      uint32 // index into the extended row | flags; 0 at leaves
	right     slot   // the right child (the left one is just before); a leaf's own slot
}

// slot is an index in Model.nodes (unsigned: indexing needs no sign extension).
type slot = uint32

// leafSlot is the node for leaf index leaf (in Model.leafValue) placed at slot at.
func leafSlot(at slot, leaf int32) node {
	return node{threshold: math.Float64frombits(leafNaN | uint64(leaf)), right: at}
}

// leafNaN is a quiet NaN; leaf slots keep their leaf index in its low 31 bits.
const leafNaN = 0x7ff8_0000_0000_0000

// leafIndex is the leaf index a leaf slot holds.
func (n *node) leafIndex() int32 {
	return int32(math.Float64bits(n.threshold) & (1<<31 - 1))
}

// Split flags in node.meta.
const (
	featureBits = 26
	featureMask = 1<<featureBits - 1 // index into the extended row (raw for slow nodes)

	flagZeroMissing uint32 = 1 << 26 // missing type Zero: NaN and |x| <= 1e-35 take the default
	flagCategorical uint32 = 1 << 27
	flagSlow        uint32 = 1 << 28 // decided by slowDecision
	flagMissingLeft uint32 = 1 << 29 // slow nodes: where NaN goes

	// maxFeatures keeps extended-row indices (up to four per feature) within featureMask.
	maxFeatures = 1 << (featureBits - 2)
)

// The views of a row in the extended row, in order (see node).
const (
	viewRaw       = iota // as given: NaN goes right
	viewNaNLeft          // NaN read as -Inf: NaN goes left
	viewZeroLeft         // NaN and zeros read as -Inf
	viewZeroRight        // NaN and zeros read as +Inf
)

// kZeroThreshold is LightGBM's kZeroThreshold (1e-35f), widened to double as C++ compares it.
var kZeroThreshold = float64(float32(1e-35))

func catPacked(start, words uint32) float64 {
	return math.Float64frombits(uint64(start)<<32 | uint64(words))
}

func (n *node) catRange() (start, words uint32) {
	b := math.Float64bits(n.threshold)
	return uint32(b >> 32), uint32(b)
}

// tree locates one tree in the node array.
type tree struct {
	root   slot // a one-leaf tree's root is its leaf
	linear bool
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
// succeeds, a walk from the tree's root reaches a leaf in at most num_leaves-1 steps.
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
	// A tree takes 2·num_leaves-1 slots; one more is the model's sink.
	if len(m.nodes)+2*numLeaves > math.MaxInt32 {
		return fmt.Errorf("model has more than 2^31 nodes")
	}
	leafBase := len(m.leafValue)
	tr := tree{root: slot(len(m.nodes)), linear: linear}
	if numLeaves == 1 {
		m.nodes = append(m.nodes, leafSlot(tr.root, int32(leafBase)))
	} else if err := b.addNodes(kv, numLeaves, numCat, int32(leafBase)); err != nil {
		return err
	}
	m.leafValue = append(m.leafValue, leafValues...)
	m.trees = append(m.trees, tr)
	if linear {
		if err := b.addLinearLeaves(kv, numLeaves, leafBase); err != nil {
			return err
		}
	}
	return nil
}

// addSink appends a leaf slot for nothing: walkRow pads its last group of trees with
// it (it leads to itself, as leaves do).
func (b *builder) addSink() slot {
	m := b.m
	sink := slot(len(m.nodes))
	m.nodes = append(m.nodes, leafSlot(sink, 0))
	return sink
}

// addNodes checks the splits of a tree with numLeaves > 1 and lays the tree out.
func (b *builder) addNodes(kv map[string]string, numLeaves, numCat int, leafBase int32) error {
	internal := numLeaves - 1
	splitFeature, err := ints(kv, "split_feature", internal)
	if err != nil {
		return err
	}
	threshold, err := floats(kv, "threshold", internal)
	if err != nil {
		return err
	}
	left, err := ints(kv, "left_child", internal)
	if err != nil {
		return err
	}
	right, err := ints(kv, "right_child", internal)
	if err != nil {
		return err
	}
	decision := make([]int32, internal) // LightGBM's default when the key is absent
	if _, ok := kv["decision_type"]; ok {
		if decision, err = ints(kv, "decision_type", internal); err != nil {
			return err
		}
	}
	var catBoundaries []int32
	var catWords []uint32
	if numCat > 0 {
		if catBoundaries, err = ints(kv, "cat_boundaries", numCat+1); err != nil {
			return err
		}
		if catBoundaries[0] != 0 {
			return fmt.Errorf("cat_boundaries[0]=%d, want 0", catBoundaries[0])
		}
		for i := 1; i < len(catBoundaries); i++ {
			if catBoundaries[i] < catBoundaries[i-1] {
				return fmt.Errorf("cat_boundaries decrease at %d", i)
			}
		}
		if catWords, err = uints(kv, "cat_threshold", int(catBoundaries[numCat])); err != nil {
			return err
		}
	}

	if err := checkStructure(left, right, numLeaves); err != nil {
		return err
	}
	m := b.m
	catBase := len(m.catBits)
	if len(m.catBits)+len(catWords) > math.MaxUint32 {
		return fmt.Errorf("categorical bitsets too large")
	}
	m.catBits = append(m.catBits, catWords...)
	splits := make([]node, internal)
	for i := range splits {
		f := splitFeature[i]
		if f < 0 || int(f) >= b.numFeatures {
			return fmt.Errorf("split_feature[%d]=%d, model has %d features", i, f, b.numFeatures)
		}
		dt := decision[i]
		if dt < 0 || dt > 127 {
			return fmt.Errorf("decision_type[%d]=%d", i, dt)
		}
		n := node{meta: uint32(f)}
		defaultLeft := dt&2 != 0
		// LightGBM only looks at the categorical bit when the tree has categories.
		if dt&1 != 0 && numCat > 0 {
			k := threshold[i]
			if k != math.Trunc(k) || k < 0 || k >= float64(numCat) {
				return fmt.Errorf("threshold[%d]=%v: categorical split needs a category set index in [0,%d)", i, k, numCat)
			}
			lo, hi := catBoundaries[int(k)], catBoundaries[int(k)+1]
			n.threshold = catPacked(uint32(catBase)+uint32(lo), uint32(hi-lo))
			n.meta |= flagSlow | flagCategorical
			b.catFeature[f] = true
			m.hasSlow = true
			splits[i] = n
			continue
		}
		n.threshold = zeroSnappedThreshold(threshold[i])
		zero := (dt>>2)&3 == 1
		var missingLeft bool // where NaN goes (and, for missing type Zero, zeros)
		switch (dt >> 2) & 3 {
		case 1, 2: // Zero, NaN: missing values take the default direction
			missingLeft = defaultLeft
		default: // None (and the unused 3): NaN is read as 0.0
			missingLeft = 0.0 <= n.threshold
		}
		view := uint32(viewRaw)
		switch {
		case zero && missingLeft:
			view = viewZeroLeft
		case zero:
			view = viewZeroRight
		case missingLeft:
			view = viewNaNLeft
		}
		// The views would decide these wrongly: NaN thresholds (x <= NaN never holds)
		// and +Inf for zeros going right (+Inf <= +Inf holds).
		if n.threshold != n.threshold || (view == viewZeroRight && math.IsInf(n.threshold, 1)) {
			n.meta |= flagSlow
			if zero {
				n.meta |= flagZeroMissing
			}
			if missingLeft {
				n.meta |= flagMissingLeft
			}
			m.hasSlow = true
		} else {
			n.meta += view * uint32(b.numFeatures)
			if view >= viewZeroLeft {
				m.views = 4
			}
		}
		splits[i] = n
	}
	b.layout(kv, splits, left, right, leafBase)
	return nil
}

// layout appends a checked tree: its root in one slot, then each split's children as a
// pair of slots, depth-first, descending first into the child more training rows took
// (internal_count / leaf_count; left when the file has no counts). The split about to
// be placed next is then the one the previous pair most often leads to, so common paths
// step through neighbouring slots.
func (b *builder) layout(kv map[string]string, splits []node, left, right []int32, leafBase int32) {
	m := b.m
	internal := len(splits)
	hotRight := hotRightChildren(kv, left, right)
	type pending struct {
		split int32
		at    slot
	}
	stack := make([]pending, 1, internal)
	stack[0] = pending{0, slot(len(m.nodes))}
	m.nodes = append(m.nodes, node{})
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := splits[p.split]
		pair := slot(len(m.nodes))
		nd.right = pair + 1
		m.nodes = append(m.nodes, node{}, node{})
		children := [2]int32{left[p.split], right[p.split]}
		for side, c := range children {
			if c < 0 {
				m.nodes[pair+slot(side)] = leafSlot(pair+slot(side), leafBase+^c)
			}
		}
		m.nodes[p.at] = nd
		// Push the colder child first: the hotter one is placed next.
		order := [2]int{1, 0}
		if hotRight != nil && hotRight[p.split] {
			order = [2]int{0, 1}
		}
		for _, side := range order {
			if c := children[side]; c >= 0 {
				stack = append(stack, pending{c, pair + slot(side)})
			}
		}
	}
}

// hotRightChildren says, for each split, whether more training rows went right than
// left, from the tree's internal_count and leaf_count; nil when those are absent or
// malformed (they only guide the layout).
func hotRightChildren(kv map[string]string, left, right []int32) []bool {
	internal := len(left)
	nodeCount, err := ints(kv, "internal_count", internal)
	if err != nil {
		return nil
	}
	leafCount, err := ints(kv, "leaf_count", internal+1)
	if err != nil {
		return nil
	}
	count := func(c int32) int32 {
		if c >= 0 {
			return nodeCount[c]
		}
		return leafCount[^c]
	}
	hot := make([]bool, internal)
	for i := range hot {
		hot[i] = count(right[i]) > count(left[i])
	}
	return hot
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

// checkStructure proves that left/right describe a binary tree rooted at node 0: every
// child index is in range, the root has no parent, and every other node and every leaf
// has exactly one (2·internal child slots, none reused, cover the internal-1 other nodes
// and the numLeaves leaves). Then a walk from the root cannot cycle and ends at a leaf
// within internal steps.
func checkStructure(left, right []int32, numLeaves int) error {
	internal := numLeaves - 1
	nodeParents := make([]uint8, internal)
	leafParents := make([]uint8, numLeaves)
	for i := 0; i < internal; i++ {
		for side, c := range [2]int32{left[i], right[i]} {
			name := [2]string{"left_child", "right_child"}[side]
			switch {
			case c >= 0 && int(c) < internal:
				if c == 0 {
					return fmt.Errorf("%s[%d]=0: the root cannot be a child", name, i)
				}
				if nodeParents[c]++; nodeParents[c] > 1 {
					return fmt.Errorf("%s[%d]=%d: node %d has two parents", name, i, c, c)
				}
			case c < 0 && int(^c) < numLeaves:
				if leafParents[^c]++; leafParents[^c] > 1 {
					return fmt.Errorf("%s[%d]=%d: leaf %d has two parents", name, i, c, ^c)
				}
			default:
				return fmt.Errorf("%s[%d]=%d out of range (%d nodes, %d leaves)", name, i, c, internal, numLeaves)
			}
		}
	}
	return nil
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
