package xgboost

import (
	"fmt"
	"math"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// block is Eval's scratch space, pooled per model so Eval does not allocate. Rows go
// through each tree a block at a time (Model.blockRows, normally 64): the tree's nodes
// stay in cache while the block's rows walk it, and the block's inputs stay in L1.
type block struct {
	x   []float32 // blockRows rows of features, in float32 as xgboost reads them
	acc []float32 // blockRows rows of margins, one per output group
}

// Eval computes n rows (see runtime.Ensemble). It runs on the calling goroutine; callers
// split large batches across goroutines themselves. x must hold n·len(Features()) values
// and out n·Width(k); shorter slices are a programming error and panic.
//
// As xgboost does, inputs are rounded to float32, each output group starts at its base
// margin and adds the trees' leaf values in tree order in float32, and the transform is
// computed in float32.
func (m *Model) Eval(k runtime.Kind, x []float64, n int, out []float64) {
	nf, w, g := len(m.features), m.Width(k), m.groups
	if n < 0 || len(x) < n*nf || len(out) < n*w {
		panic(fmt.Sprintf("xgboost: Eval of %d rows needs %d inputs and %d outputs, got %d and %d",
			n, n*nf, n*w, len(x), len(out)))
	}
	b, _ := m.scratch.Get().(*block)
	if b == nil {
		b = &block{x: make([]float32, m.blockRows*nf), acc: make([]float32, m.blockRows*g)}
	}
	defer m.scratch.Put(b)
	for start := 0; start < n; start += m.blockRows {
		rows := min(m.blockRows, n-start)
		xs := b.x[:rows*nf]
		for i, v := range x[start*nf : start*nf+len(xs)] {
			xs[i] = float32(v)
		}
		acc := b.acc[:rows*g]
		for r := 0; r < rows; r++ {
			copy(acc[r*g:], m.base)
		}
		m.accumulate(xs, nf, rows, acc)
		o := out[start*w : (start+rows)*w]
		if k == runtime.Margin {
			for i, v := range acc {
				o[i] = float64(v)
			}
			continue
		}
		for r := 0; r < rows; r++ {
			m.spec.transformRow(acc[r*g:(r+1)*g], o[r*w:(r+1)*w])
		}
	}
}

// accumulate adds every tree's leaf for each of rows rows to acc, tree by tree (the
// order xgboost sums in).
func (m *Model) accumulate(x []float32, nf, rows int, acc []float32) {
	if m.hasCategorical {
		m.accumulateAny(x, nf, rows, acc)
		return
	}
	nodes, leaves, g := m.nodes, m.leafValues, m.groups
	full := rows - rows%4
	for t, root := range m.roots {
		depth, grp := int(m.depths[t]), int(m.treeGroup[t])
		// Four rows walk the tree in lockstep: their steps are independent, so the CPU
		// overlaps them instead of waiting on each load of one row's path.
		for r := 0; r < full; r += 4 {
			x0 := x[r*nf : (r+1)*nf]
			x1 := x[(r+1)*nf : (r+2)*nf]
			x2 := x[(r+2)*nf : (r+3)*nf]
			x3 := x[(r+3)*nf : (r+4)*nf]
			i0, i1, i2, i3 := root, root, root, root
			for range depth {
				i0 = step(nodes, i0, x0)
				i1 = step(nodes, i1, x1)
				i2 = step(nodes, i2, x2)
				i3 = step(nodes, i3, x3)
			}
			acc[r*g+grp] += leaves[i0]
			acc[(r+1)*g+grp] += leaves[i1]
			acc[(r+2)*g+grp] += leaves[i2]
			acc[(r+3)*g+grp] += leaves[i3]
		}
	}
	for r := full; r < rows; r++ {
		m.accumulateRow(x[r*nf:(r+1)*nf], acc[r*g:(r+1)*g])
	}
}

// accumulateRow is accumulate for one row (single-row calls and a block's last rows):
// four trees walk in lockstep instead, for the same overlap, and their leaves are added
// in tree order.
func (m *Model) accumulateRow(row []float32, acc []float32) {
	nodes, leaves, roots, depths, groups := m.nodes, m.leafValues, m.roots, m.depths, m.treeGroup
	t := 0
	for ; t+4 <= len(roots); t += 4 {
		i0, i1, i2, i3 := roots[t], roots[t+1], roots[t+2], roots[t+3]
		for range max(depths[t], depths[t+1], depths[t+2], depths[t+3]) {
			i0 = step(nodes, i0, row)
			i1 = step(nodes, i1, row)
			i2 = step(nodes, i2, row)
			i3 = step(nodes, i3, row)
		}
		acc[groups[t]] += leaves[i0]
		acc[groups[t+1]] += leaves[i1]
		acc[groups[t+2]] += leaves[i2]
		acc[groups[t+3]] += leaves[i3]
	}
	for ; t < len(roots); t++ {
		i := roots[t]
		for range depths[t] {
			i = step(nodes, i, row)
		}
		acc[groups[t]] += leaves[i]
	}
}

// step moves one level down from numeric split (or leaf) i for a row, without a branch:
// the comparisons compile to SETcc, and a branch on them would be mispredicted half the
// time. Go left iff float32(x) < threshold; a missing value (NaN) goes to the default
// child. At leaves (NaN threshold, default left, left = itself) it stays put.
func step(nodes []node, i int32, row []float32) int32 {
	nd := &nodes[i]
	v := row[nd.meta&featureMask]
	var ge, nlt int32
	if v >= nd.value {
		ge = 1
	}
	if !(v < nd.value) {
		nlt = 1
	}
	// ge == nlt unless v is NaN: then nlt (1, right), or ge (0, left) when the node
	// sends missing values left.
	return nd.left + (nlt ^ (ge^nlt)&int32(nd.meta>>31))
}

// accumulateAny is accumulate for models with categorical splits.
func (m *Model) accumulateAny(x []float32, nf, rows int, acc []float32) {
	g := m.groups
	for t, root := range m.roots {
		depth, grp := int(m.depths[t]), int(m.treeGroup[t])
		for r := 0; r < rows; r++ {
			row, i := x[r*nf:(r+1)*nf], root
			for range depth {
				i = m.stepAny(i, row)
			}
			acc[r*g+grp] += m.leafValues[i]
		}
	}
}

// stepAny is step for any node, categorical splits included: right iff the value's
// code is in the split's set. As in xgboost a value is truncated to its code, and
// negative codes and codes ≥ 2^24 are in no set; missing values take the default child.
func (m *Model) stepAny(i int32, row []float32) int32 {
	nd := &m.nodes[i]
	if nd.meta&flagCategorical == 0 {
		return step(m.nodes, i, row)
	}
	v := row[nd.meta&featureMask]
	if v != v {
		return nd.left + (int32(nd.meta>>31) ^ 1)
	}
	if v >= 0 && v < maxCategory {
		c, off := uint32(v), math.Float32bits(nd.value)
		if c>>5 < m.catBits[off] && m.catBits[off+1+c>>5]&(1<<(c&31)) != 0 {
			return nd.left + 1
		}
	}
	return nd.left
}
