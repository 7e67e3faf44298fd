package xgboost

import (
	"fmt"
	"math"
)

// node is one compiled tree node, 12 bytes. All trees share Model.nodes; a split's two
// children sit next to each other (right = left+1), laid out breadth-first so the top
// levels of a tree share cache lines.
//
// A leaf is a node that leads to itself whatever the input: left is its own index,
// its threshold is NaN and it sends missing values left, so the step computed in
// eval.go stays put. Rows can then take a fixed number of steps per tree (its depth)
// in lockstep, without a test for leaves. Leaf values live in Model.leafValues.
type node struct {
	// value is the split threshold (go left iff float32(x) < value); NaN at leaves. For
	// categorical splits its bits are the offset of the category set in Model.catBits.
	value float32
	meta  uint32 // feature index | flagDefaultLeft | flagCategorical
	left  int32  // index of the left child in Model.nodes (right is left+1); a leaf's own
}

const (
	flagDefaultLeft uint32 = 1 << 31 // missing values go left
	flagCategorical uint32 = 1 << 30 // categorical split: right iff the category is in the set
	featureMask     uint32 = 1<<30 - 1

	// maxCategory is xgboost's bound on category codes (2^24, the float32 integers):
	// codes at or past it, and negative ones, never match a split's set.
	maxCategory = 1 << 24
)

// compileForest validates and compiles every tree. Each tree must be a proper binary
// tree reachable from node 0: child indices in range, no node reached twice (so no
// cycles), split features below num_feature. Unreachable nodes (deleted by pruning) are
// dropped. inputSize bounds the categorical bitsets.
func (m *Model) compileForest(trees []any, info []int64, weights []float32, inputSize int) error {
	m.roots = make([]int32, len(trees))
	m.depths = make([]int32, len(trees))
	m.treeGroup = make([]int32, len(trees))
	c := compiler{m: m, catBudget: max(1<<20, inputSize)}
	for i, t := range trees {
		w := float32(1)
		if weights != nil {
			w = weights[i]
		}
		root, depth, err := c.tree(t, w, i)
		if err != nil {
			return err
		}
		m.roots[i] = root
		m.depths[i] = depth
		m.treeGroup[i] = int32(info[i])
	}
	return nil
}

type compiler struct {
	m         *Model
	catBudget int // uint32 words the category sets may still take

	visited []bool
	queue   []pending
}

type pending struct{ old, at, depth int32 }

// rawTree holds one tree's arrays as the file stores them.
type rawTree struct {
	n                      int
	left, right, feature   []int64
	cond                   []float32
	defaultLeft, splitType []int64
	catNodeSets            map[int64][]int64 // categorical node -> its categories
}

func readTree(v any, path string) (*rawTree, error) {
	t, err := object(v, path)
	if err != nil {
		return nil, err
	}
	param, err := field(t, "tree_param", path)
	if err != nil {
		return nil, err
	}
	n, err := intParam(param, "num_nodes", path+".tree_param", -1)
	if err != nil {
		return nil, err
	}
	leafSize, err := intParam(param, "size_leaf_vector", path+".tree_param", 1)
	if err != nil {
		return nil, err
	}
	if leafSize > 1 {
		return nil, fmt.Errorf("%s: vector leaves (size_leaf_vector %d, a multi-target tree) are not supported", path, leafSize)
	}
	r := &rawTree{}
	for _, a := range []struct {
		key string
		dst *[]int64
	}{
		{"left_children", &r.left}, {"right_children", &r.right}, {"split_indices", &r.feature},
		{"default_left", &r.defaultLeft}, {"split_type", &r.splitType},
	} {
		if *a.dst, err = ints(t, a.key, path); err != nil {
			return nil, err
		}
	}
	if r.cond, err = floats(t, "split_conditions", path); err != nil {
		return nil, err
	}
	if n < 1 || n > int64(len(r.left)) {
		return nil, fmt.Errorf("%s: num_nodes %d, but left_children has %d entries", path, n, len(r.left))
	}
	r.n = int(n)
	for _, a := range []struct {
		key string
		got int
	}{
		{"left_children", len(r.left)}, {"right_children", len(r.right)}, {"split_indices", len(r.feature)},
		{"split_conditions", len(r.cond)}, {"default_left", len(r.defaultLeft)},
	} {
		if a.got != r.n {
			return nil, fmt.Errorf("%s: %s has %d entries, want %d", path, a.key, a.got, r.n)
		}
	}
	if r.splitType != nil && len(r.splitType) != r.n && len(r.splitType) != 0 {
		return nil, fmt.Errorf("%s: split_type has %d entries, want %d", path, len(r.splitType), r.n)
	}
	if err := r.readCategorical(t, path); err != nil {
		return nil, err
	}
	return r, nil
}

// readCategorical reads the categorical splits: categories_nodes[j] is a node whose set
// is categories[categories_segments[j] : +categories_sizes[j]].
func (r *rawTree) readCategorical(t map[string]any, path string) error {
	var cats, nodes, segs, sizes []int64
	var err error
	for _, a := range []struct {
		key string
		dst *[]int64
	}{
		{"categories", &cats}, {"categories_nodes", &nodes},
		{"categories_segments", &segs}, {"categories_sizes", &sizes},
	} {
		if *a.dst, err = ints(t, a.key, path); err != nil {
			return err
		}
	}
	if len(segs) != len(nodes) || len(sizes) != len(nodes) {
		return fmt.Errorf("%s: categories_nodes, categories_segments and categories_sizes have %d, %d and %d entries",
			path, len(nodes), len(segs), len(sizes))
	}
	if len(nodes) == 0 {
		return nil
	}
	r.catNodeSets = make(map[int64][]int64, len(nodes))
	for j, nid := range nodes {
		seg, size := segs[j], sizes[j]
		if nid < 0 || nid >= int64(r.n) {
			return fmt.Errorf("%s: categories_nodes[%d]: node %d out of range", path, j, nid)
		}
		if seg < 0 || size < 0 || seg > int64(len(cats)) || size > int64(len(cats))-seg {
			return fmt.Errorf("%s: categories segment %d (+%d) of node %d is outside the %d categories",
				path, seg, size, nid, len(cats))
		}
		r.catNodeSets[nid] = cats[seg : seg+size]
	}
	return nil
}

// tree compiles tree i and returns the index of its root in m.nodes and its depth (the
// most steps from the root to a leaf).
func (c *compiler) tree(v any, weight float32, i int) (root, depth int32, err error) {
	path := fmt.Sprintf("tree %d", i)
	r, err := readTree(v, path)
	if err != nil {
		return 0, 0, err
	}
	m := c.m
	if len(m.nodes)+r.n > math.MaxInt32 {
		return 0, 0, fmt.Errorf("%s: the model has more than 2^31 nodes", path)
	}
	if cap(c.visited) < r.n {
		c.visited = make([]bool, r.n)
	}
	c.visited = c.visited[:r.n]
	clear(c.visited)
	root = int32(len(m.nodes))
	m.nodes = append(m.nodes, node{})
	m.leafValues = append(m.leafValues, 0)
	c.visited[0] = true
	c.queue = append(c.queue[:0], pending{0, root, 0})
	for len(c.queue) > 0 {
		p := c.queue[0]
		c.queue = c.queue[1:]
		o := p.old
		l, rt := r.left[o], r.right[o]
		if l == -1 {
			if rt != -1 {
				return 0, 0, fmt.Errorf("%s: node %d has no left child but right child %d", path, o, rt)
			}
			m.nodes[p.at] = node{value: float32(math.NaN()), meta: flagDefaultLeft, left: p.at}
			// float32() keeps the product from being fused into a later addition.
			m.leafValues[p.at] = float32(r.cond[o] * weight)
			depth = max(depth, p.depth)
			continue
		}
		for _, child := range [2]int64{l, rt} {
			if child <= 0 || child >= int64(r.n) {
				return 0, 0, fmt.Errorf("%s: node %d: child %d out of range [1, %d)", path, o, child, r.n)
			}
			if c.visited[child] {
				return 0, 0, fmt.Errorf("%s: node %d is reached twice (not a tree)", path, child)
			}
			c.visited[child] = true
		}
		f := r.feature[o]
		if f < 0 || f >= int64(len(m.features)) {
			return 0, 0, fmt.Errorf("%s: node %d splits on feature %d, but the model has %d", path, o, f, len(m.features))
		}
		at := int32(len(m.nodes))
		nd := node{value: r.cond[o], meta: uint32(f), left: at}
		if r.defaultLeft[o] != 0 {
			nd.meta |= flagDefaultLeft
		}
		if len(r.splitType) > 0 && r.splitType[o] == 1 {
			set, ok := r.catNodeSets[int64(o)]
			if !ok {
				return 0, 0, fmt.Errorf("%s: categorical node %d has no categories", path, o)
			}
			off, err := c.categorySet(set, path, o)
			if err != nil {
				return 0, 0, err
			}
			nd.meta |= flagCategorical
			nd.value = math.Float32frombits(off)
			m.hasCategorical = true
		}
		m.nodes[p.at] = nd
		m.nodes = append(m.nodes, node{}, node{})
		m.leafValues = append(m.leafValues, 0, 0)
		c.queue = append(c.queue, pending{int32(l), at, p.depth + 1}, pending{int32(rt), at + 1, p.depth + 1})
	}
	return root, depth, nil
}

// categorySet stores a split's categories as a bitset in m.catBits — one word with the
// bitset's length, then the bits — and returns its offset.
func (c *compiler) categorySet(set []int64, path string, nid int32) (uint32, error) {
	top := int64(-1)
	for _, v := range set {
		if v < 0 {
			return 0, fmt.Errorf("%s: node %d: negative category %d", path, nid, v)
		}
		if v < maxCategory {
			top = max(top, v)
		}
	}
	words := int((top + 32) / 32) // 0 when the set holds nothing a value can match
	if words+1 > c.catBudget {
		return 0, fmt.Errorf("%s: node %d: category sets larger than the file allows", path, nid)
	}
	c.catBudget -= words + 1
	m := c.m
	off := len(m.catBits)
	if off > math.MaxUint32-words-1 {
		return 0, fmt.Errorf("%s: too many categorical splits", path)
	}
	m.catBits = append(m.catBits, uint32(words))
	m.catBits = append(m.catBits, make([]uint32, words)...)
	bits := m.catBits[off+1:]
	for _, v := range set {
		if v < maxCategory {
			bits[v>>5] |= 1 << (v & 31)
		}
	}
	return uint32(off), nil
}
