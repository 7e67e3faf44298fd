package lightgbm

import (
	"fmt"
	"math"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// tileRows rows walk a tree in lockstep in Eval; their extended rows are stored
// interleaved, feature by feature, in a tile (see extendIntoTile).
const tileRows = 8

// scratch is Eval's working memory, pooled per model so that Eval does not allocate.
type scratch struct {
	tiles []float64 // a block's tiles of extended rows, when Eval has that many rows
	row   []float64 // one extended row (see extendRow)
}

func (m *Model) getScratch() *scratch {
	if s, ok := m.scratch.Get().(*scratch); ok {
		return s
	}
	return &scratch{row: make([]float64, m.views*len(m.features))}
}

// blockRowsFor picks how many rows go through one tree before the next tree: enough to
// keep the tree's nodes in cache across rows, few enough that the block's extended rows
// (w values each) mostly stay in L1: whole tiles, 8 to 64 rows.
func blockRowsFor(w int) int {
	r := (48 << 10) / (8 * w)
	return min(max(r-r%tileRows, tileRows), 64)
}

// extendRow writes the extended row of row into dst: the row's views one after the
// other (see node), the first two always, the Zero ones when the model has such splits.
func extendRow(dst, row []float64) {
	extendStrided(dst, 1, row, len(dst)/len(row))
}

// extendIntoTile writes the extended row (see extendRow) of a tile's j-th row: its
// entry f goes to tile[f*tileRows+j].
func extendIntoTile(tile []float64, j int, row []float64) {
	extendStrided(tile[j:], tileRows, row, len(tile)/(tileRows*len(row)))
}

// extendStrided writes entry f of row's extended row (views views) to dst[f*stride].
func extendStrided(dst []float64, stride int, row []float64, views int) {
	nf := len(row)
	for f, v := range row {
		nanLeft := v
		if v != v {
			nanLeft = math.Inf(-1)
		}
		dst[f*stride] = v
		dst[(nf+f)*stride] = nanLeft
	}
	if views < 4 {
		return
	}
	for f, v := range row {
		zeroLeft, zeroRight := v, v
		if v != v || (v >= -kZeroThreshold && v <= kZeroThreshold) {
			zeroLeft, zeroRight = math.Inf(-1), math.Inf(1)
		}
		dst[(2*nf+f)*stride] = zeroLeft
		dst[(3*nf+f)*stride] = zeroRight
	}
}

// Eval computes n rows of x (len(Features()) values each, NaN = missing) into out
// (Width(k) values each). Like lightgbm's predict, each output accumulates its trees in
// file order in float64. For Transformed, random forests then divide by the number of
// iterations and the objective's output conversion follows; Margin is the plain sum, as
// lightgbm's raw_score is. Eval does not allocate (beyond its pooled scratch space).
func (m *Model) Eval(k runtime.Kind, x []float64, n int, out []float64) {
	nf, K := len(m.features), m.numOutputs
	if n < 0 || len(x) < n*nf || len(out) < n*K {
		panic(fmt.Sprintf("lightgbm: Eval of %d rows needs %d inputs and %d outputs, got %d and %d",
			n, n*nf, n*K, len(x), len(out)))
	}
	if n == 0 {
		return
	}
	s := m.getScratch()
	defer m.scratch.Put(s)
	w := m.views * nf
	for r0 := 0; r0 < n; r0 += m.blockRows {
		r1 := min(r0+m.blockRows, n)
		rows := r1 - r0
		raw := x[r0*nf : r1*nf]
		os := out[r0*K : r1*K]
		clear(os)
		// Whole tiles go through the trees tree by tree; the rest of the block (only
		// in the last block) row by row.
		if rows >= tileRows && s.tiles == nil {
			// Only now: that many rows bound its size by the input's (and 48 KiB).
			s.tiles = make([]float64, m.blockRows*w)
		}
		tiles := s.tiles[:(rows/tileRows)*tileRows*w]
		for r := 0; r < len(tiles)/w; r++ {
			t := r / tileRows
			extendIntoTile(tiles[t*tileRows*w:(t+1)*tileRows*w], r%tileRows, raw[r*nf:r*nf+nf])
		}
		m.addTiles(tiles, raw, os)
		for r := len(tiles) / w; r < rows; r++ {
			extendRow(s.row, raw[r*nf:r*nf+nf])
			m.walkRow(s.row, os[r*K:r*K+K])
		}
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
			for r := 0; r < rows; r++ {
				m.objective.apply(os[r*K : r*K+K])
			}
		}
	}
}

// addTiles adds every tree's output to the outputs of the tiles' rows (tree t feeds
// output t%K), one tree at a time, each tile's rows walking it in lockstep. raw holds
// the rows as given, for linear trees.
func (m *Model) addTiles(tiles, raw, os []float64) {
	if len(tiles) == 0 {
		return
	}
	nf, K := len(m.features), m.numOutputs
	tw := m.views * nf * tileRows
	nodes, lv := m.nodes, m.leafValue
	class := 0
	for _, tr := range m.trees {
		for t := 0; t < len(tiles)/tw; t++ {
			var l [tileRows]slot
			if m.hasSlow {
				l = m.walkTileAny(tr.root, tiles[t*tw:(t+1)*tw])
			} else {
				l = walkTile(nodes, tr.root, tiles[t*tw:(t+1)*tw])
			}
			o := os[t*tileRows*K+class:]
			for j, i := range l {
				g := nodes[i].leafIndex()
				if tr.linear {
					r := t*tileRows + j
					o[j*K] += m.linearValue(g, raw[r*nf:r*nf+nf])
				} else {
					o[j*K] += lv[g]
				}
			}
		}
		if class++; class == K {
			class = 0
		}
	}
}

// walkTile walks a tile's rows through the tree at root in lockstep and returns the
// slots of their leaves. Rows that reach a leaf stay there (leaves lead to themselves)
// until no row moves, so every step is the same few instructions for every row,
// without branches on the data.
func walkTile(nodes []node, root slot, tile []float64) [tileRows]slot {
	i0, i1, i2, i3, i4, i5, i6, i7 := root, root, root, root, root, root, root, root
	for {
		n0 := nextInTile(nodes, i0, tile, 0)
		n1 := nextInTile(nodes, i1, tile, 1)
		n2 := nextInTile(nodes, i2, tile, 2)
		n3 := nextInTile(nodes, i3, tile, 3)
		n4 := nextInTile(nodes, i4, tile, 4)
		n5 := nextInTile(nodes, i5, tile, 5)
		n6 := nextInTile(nodes, i6, tile, 6)
		n7 := nextInTile(nodes, i7, tile, 7)
		if (n0^i0)|(n1^i1)|(n2^i2)|(n3^i3)|(n4^i4)|(n5^i5)|(n6^i6)|(n7^i7) == 0 {
			return [tileRows]slot{i0, i1, i2, i3, i4, i5, i6, i7}
		}
		i0, i1, i2, i3, i4, i5, i6, i7 = n0, n1, n2, n3, n4, n5, n6, n7
	}
}

// walkTileAny is walkTile for models with slow splits. Those are rare in most such
// models, so the tests for them are well predicted.
func (m *Model) walkTileAny(root slot, tile []float64) [tileRows]slot {
	nodes := m.nodes
	i0, i1, i2, i3, i4, i5, i6, i7 := root, root, root, root, root, root, root, root
	for {
		n0 := nextMaskedInTile(nodes, i0, tile, 0)
		n1 := nextMaskedInTile(nodes, i1, tile, 1)
		n2 := nextMaskedInTile(nodes, i2, tile, 2)
		n3 := nextMaskedInTile(nodes, i3, tile, 3)
		n4 := nextMaskedInTile(nodes, i4, tile, 4)
		n5 := nextMaskedInTile(nodes, i5, tile, 5)
		n6 := nextMaskedInTile(nodes, i6, tile, 6)
		n7 := nextMaskedInTile(nodes, i7, tile, 7)
		if nodes[i0].meta&flagSlow != 0 {
			n0 = m.nextSlow(i0, tile[0:], tileRows)
		}
		if nodes[i1].meta&flagSlow != 0 {
			n1 = m.nextSlow(i1, tile[1:], tileRows)
		}
		if nodes[i2].meta&flagSlow != 0 {
			n2 = m.nextSlow(i2, tile[2:], tileRows)
		}
		if nodes[i3].meta&flagSlow != 0 {
			n3 = m.nextSlow(i3, tile[3:], tileRows)
		}
		if nodes[i4].meta&flagSlow != 0 {
			n4 = m.nextSlow(i4, tile[4:], tileRows)
		}
		if nodes[i5].meta&flagSlow != 0 {
			n5 = m.nextSlow(i5, tile[5:], tileRows)
		}
		if nodes[i6].meta&flagSlow != 0 {
			n6 = m.nextSlow(i6, tile[6:], tileRows)
		}
		if nodes[i7].meta&flagSlow != 0 {
			n7 = m.nextSlow(i7, tile[7:], tileRows)
		}
		if (n0^i0)|(n1^i1)|(n2^i2)|(n3^i3)|(n4^i4)|(n5^i5)|(n6^i6)|(n7^i7) == 0 {
			return [tileRows]slot{i0, i1, i2, i3, i4, i5, i6, i7}
		}
		i0, i1, i2, i3, i4, i5, i6, i7 = n0, n1, n2, n3, n4, n5, n6, n7
	}
}

// next is the slot an extended row goes to from slot i (itself at a leaf), for models
// without slow splits. The comparison compiles to a flag-setting instruction, not a
// branch: these are coin flips.
func next(nodes []node, i slot, x []float64) slot {
	nd := &nodes[i]
	return nd.right - b2u(x[nd.meta] <= nd.threshold) // meta is the feature alone here
}

// nextInTile is next for row j of a tile.
func nextInTile(nodes []node, i slot, tile []float64, j uint32) slot {
	nd := &nodes[i]
	return nd.right - b2u(tile[nd.meta*tileRows+j] <= nd.threshold)
}

// nextMasked is next for models with slow splits: it reads a valid entry of the
// extended row for those too, where its answer is then replaced by nextSlow's.
func nextMasked(nodes []node, i slot, x []float64) slot {
	nd := &nodes[i]
	return nd.right - b2u(x[nd.meta&featureMask] <= nd.threshold)
}

// nextMaskedInTile is nextMasked for row j of a tile.
func nextMaskedInTile(nodes []node, i slot, tile []float64, j uint32) slot {
	nd := &nodes[i]
	return nd.right - b2u(tile[(nd.meta&featureMask)*tileRows+j] <= nd.threshold)
}

// nextSlow is next for a slow split; entry f of the extended row is x[f*stride] (stride
// 1 for a row, tileRows for a tile from the row's first entry on).
func (m *Model) nextSlow(i slot, x []float64, stride uint32) slot {
	nd := &m.nodes[i]
	return nd.right - m.slowDecision(nd, x[(nd.meta&featureMask)*stride])
}

func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}

// slowDecision decides categorical splits, and the numerical ones no view decides
// right (see addNodes), for a raw value (1 = left).
func (m *Model) slowDecision(nd *node, v float64) uint32 {
	missingLeft := b2u(nd.meta&flagMissingLeft != 0)
	switch {
	case nd.meta&flagCategorical != 0:
		return b2u(m.categoryLeft(nd, v))
	case nd.meta&flagZeroMissing != 0 && (v != v || (v >= -kZeroThreshold && v <= kZeroThreshold)):
		return missingLeft
	case v != v:
		return missingLeft
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
