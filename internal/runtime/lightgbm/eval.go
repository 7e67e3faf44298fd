package lightgbm

import (
	"fmt"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// blockRows is how many rows go through one tree before the next tree: enough to keep
// the tree's nodes in cache across rows, few enough that the rows' features stay in L1/L2.
const blockRows = 64

// Eval computes n rows of x (len(Features()) values each, NaN = missing) into out
// (Width(k) values each). Like lightgbm's predict, each output accumulates its trees in
// file order in float64. For Transformed, random forests then divide by the number of
// iterations and the objective's output conversion follows; Margin is the plain sum, as
// lightgbm's raw_score is. Eval does not allocate.
func (m *Model) Eval(k runtime.Kind, x []float64, n int, out []float64) {
	nf, K := len(m.features), m.numOutputs
	if n < 0 || len(x) < n*nf || len(out) < n*K {
		panic(fmt.Sprintf("lightgbm: Eval of %d rows needs %d inputs and %d outputs, got %d and %d",
			n, n*nf, n*K, len(x), len(out)))
	}
	for r0 := 0; r0 < n; r0 += blockRows {
		r1 := min(r0+blockRows, n)
		xs, os := x[r0*nf:r1*nf], out[r0*K:r1*K]
		clear(os)
		m.addTrees(xs, nf, os, K)
		if k != runtime.Transformed {
			continue
		}
		// lightgbm's raw_score of a random forest is the plain sum; predict averages it.
		if m.averageOutput {
			it := float64(m.numIterations)
			for i := range os {
				os[i] /= it
			}
		}
		if m.objective.transform != transformIdentity {
			for r := 0; r < r1-r0; r++ {
				m.objective.apply(os[r*K : r*K+K])
			}
		}
	}
}

// groupRows rows walk a tree in lockstep (or one row walks groupRows trees), so that
// their chains of dependent loads overlap.
const groupRows = 8

// addTrees adds every tree's output to the block's outputs; tree t feeds output t%K.
// Each output receives its trees in file order, whichever way the walk is grouped.
func (m *Model) addTrees(xs []float64, nf int, os []float64, K int) {
	rows := len(os) / K
	grouped := rows - rows%groupRows
	if grouped > 0 {
		class := 0
		for t := range m.trees {
			tr := &m.trees[t]
			for r := 0; r < grouped; r += groupRows {
				if tr.linear {
					for j := r; j < r+groupRows; j++ {
						row := xs[j*nf : j*nf+nf]
						os[j*K+class] += m.linearValue(m.findLeaf(tr, row), row)
					}
					continue
				}
				m.addGroup(tr, xs[r*nf:(r+groupRows)*nf], nf, os[r*K+class:], K)
			}
			if class++; class == K {
				class = 0
			}
		}
	}
	for r := grouped; r < rows; r++ {
		m.addRow(xs[r*nf:r*nf+nf], os[r*K:r*K+K])
	}
}

// addRow adds every tree's output for one row, walking groupRows trees at a time.
func (m *Model) addRow(row []float64, out []float64) {
	nodes, trees, K := m.nodes, m.trees, len(out)
	class := 0
	t := 0
	for ; t+groupRows <= len(trees); t += groupRows {
		group := trees[t : t+groupRows]
		var at [groupRows]int32
		depth := int32(0)
		for j := range group {
			at[j] = group[j].root
			depth = max(depth, group[j].depth)
		}
		for s := int32(0); s < depth; s++ {
			walking := false
			for j := range at {
				nd := &nodes[at[j]]
				v := row[nd.feature]
				var left uint8
				if nd.flags <= flagMissingLeft {
					left = b2u(v <= nd.threshold) | b2u(v != v)&nd.flags
				} else {
					left = m.otherDecision(nd, v)
				}
				at[j] = nd.child[left&1]
				walking = walking || at[j] < group[j].firstLeaf
			}
			if !walking {
				break
			}
		}
		for j := range group {
			leaf := at[j] - group[j].leafOffset
			if group[j].linear {
				out[class] += m.linearValue(leaf, row)
			} else {
				out[class] += m.leafValue[leaf]
			}
			if class++; class == K {
				class = 0
			}
		}
	}
	for ; t < len(trees); t++ {
		tr := &trees[t]
		leaf := m.findLeaf(tr, row)
		if tr.linear {
			out[class] += m.linearValue(leaf, row)
		} else {
			out[class] += m.leafValue[leaf]
		}
		if class++; class == K {
			class = 0
		}
	}
}

// addGroup walks groupRows rows through a tree in lockstep until all are on leaves (at
// most depth steps; rows that reach a leaf early stay on it), and adds the leaf values to
// out[0], out[K], out[2K], ….
func (m *Model) addGroup(tr *tree, xs []float64, nf int, out []float64, K int) {
	nodes := m.nodes
	var at [groupRows]int32
	for j := range at {
		at[j] = tr.root
	}
	for s := int32(0); s < tr.depth; s++ {
		walking := false
		for j := range at {
			nd := &nodes[at[j]]
			v := xs[j*nf+int(nd.feature)]
			var left uint8
			if nd.flags <= flagMissingLeft {
				left = b2u(v <= nd.threshold) | b2u(v != v)&nd.flags
			} else {
				left = m.otherDecision(nd, v)
			}
			at[j] = nd.child[left&1]
			walking = walking || at[j] < tr.firstLeaf
		}
		if !walking {
			break
		}
	}
	for j, i := range at {
		out[j*K] += m.leafValue[i-tr.leafOffset]
	}
}

// findLeaf walks one row to a leaf and returns the leaf's index in leafValue. Load proved
// that the walk ends (each node and leaf has one parent, the root none).
func (m *Model) findLeaf(tr *tree, row []float64) int32 {
	nodes := m.nodes
	i := tr.root
	for i < tr.firstLeaf {
		nd := &nodes[i]
		v := row[nd.feature]
		var left uint8
		if nd.flags <= flagMissingLeft {
			// numerical, missing type None or NaN: NaN fails the compare and takes the
			// precomputed direction. Computed without branches: these are coin flips.
			left = b2u(v <= nd.threshold) | b2u(v != v)&nd.flags
		} else {
			left = m.otherDecision(nd, v)
		}
		i = nd.child[left&1]
	}
	return i - tr.leafOffset
}

func b2u(b bool) uint8 {
	var u uint8
	if b {
		u = 1
	}
	return u
}

// otherDecision decides categorical and missing-type-Zero nodes (1 = left).
func (m *Model) otherDecision(nd *node, v float64) uint8 {
	if nd.flags&flagCategorical != 0 {
		return b2u(m.categoryLeft(nd, v))
	}
	// missing type Zero: NaN and |v| <= 1e-35 take the default direction
	if v != v || (v >= -kZeroThreshold && v <= kZeroThreshold) {
		return nd.flags & flagMissingLeft
	}
	return b2u(v <= nd.threshold)
}

// categoryLeft is LightGBM's CategoricalDecision: NaN and negative codes go right; the
// code is the value truncated toward zero (so -0.5 is category 0 and 2.7 is 2); codes
// past the bitset, or too large for a C int, go right.
func (m *Model) categoryLeft(nd *node, v float64) bool {
	if !(v > -1 && v < 2147483648) {
		return false
	}
	c := uint32(int32(v))
	start, words := nd.catRange()
	w := c >> 5
	if w >= words {
		return false
	}
	return m.catBits[start+w]>>(c&31)&1 != 0
}

// linearValue is a linear tree's output for a leaf: its constant plus coefficient·value
// for each of its features, or the plain leaf value when one of them is missing.
func (m *Model) linearValue(leaf int32, row []float64) float64 {
	l := &m.linear[leaf]
	out := l.constant
	feats := m.linFeature[l.start : l.start+l.count]
	coeffs := m.linCoeff[l.start : l.start+l.count]
	for j, f := range feats {
		v := row[f]
		if v != v {
			return m.leafValue[leaf]
		}
		if v >= -kZeroThreshold && v <= kZeroThreshold {
			v = 0 // lightgbm's predict reads near-zero inputs as 0 (see zeroSnappedThreshold)
		}
		out += float64(coeffs[j] * v) // the conversion keeps the product rounded (no FMA), as in C++
	}
	return out
}
