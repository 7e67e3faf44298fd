package lightgbm

// treeGroup trees walk a lone row in lockstep.
const treeGroup = 8

// rootGroup is the roots of treeGroup consecutive trees; the last group is filled up
// with the sink.
type rootGroup [treeGroup]slot

func rootGroupsFor(trees []tree, sink slot) []rootGroup {
	groups := make([]rootGroup, (len(trees)+treeGroup-1)/treeGroup)
	for g := range groups {
		for k := range groups[g] {
			groups[g][k] = sink
			if t := g*treeGroup + k; t < len(trees) {
				groups[g][k] = trees[t].root
			}
		}
	}
	return groups
}

// walkRow adds every tree's output for one extended row to out (tree t to out[t%K]).
//
// For a lone row the trees' nodes mostly come from L2 or L3, and a walk is a chain of
// dependent loads, so treeGroup trees are walked at once and their cache misses overlap.
// Walks that reach a leaf stay there (leaves lead to themselves) until none moves, so
// the steps have no branches on the data. The leaves are added in tree order.
func (m *Model) walkRow(x []float64, out []float64) {
	nodes := m.nodes
	nt, K := len(m.trees), len(out)
	// One output (the usual case) adds up in a register; several take turns in out.
	sum, class := out[0], 0
	for g := range m.rootGroups {
		var l [treeGroup]slot
		if m.hasSlow {
			l = m.walkTreesAny(&m.rootGroups[g], x)
		} else {
			l = walkTrees(nodes, &m.rootGroups[g], x)
		}
		t0 := g * treeGroup
		for k, i := range l[:min(treeGroup, nt-t0)] {
			v := m.leafOutput(t0+k, nodes[i].leafIndex(), x[:len(m.features)])
			if K == 1 {
				sum += v
				continue
			}
			out[class] += v
			if class++; class == K {
				class = 0
			}
		}
	}
	if K == 1 {
		out[0] = sum
	}
}

// leafOutput is tree t's output for a leaf and the row as given.
func (m *Model) leafOutput(t int, leaf int32, row []float64) float64 {
	if m.linear != nil && m.trees[t].linear {
		return m.linearValue(leaf, row)
	}
	return m.leafValue[leaf]
}

// walkTrees walks an extended row through a group of trees in lockstep and returns the
// slots of their leaves.
func walkTrees(nodes []node, roots *rootGroup, x []float64) [treeGroup]slot {
	i0, i1, i2, i3, i4, i5, i6, i7 := roots[0], roots[1], roots[2], roots[3], roots[4], roots[5], roots[6], roots[7]
	for {
		n0 := next(nodes, i0, x)
		n1 := next(nodes, i1, x)
		n2 := next(nodes, i2, x)
		n3 := next(nodes, i3, x)
		n4 := next(nodes, i4, x)
		n5 := next(nodes, i5, x)
		n6 := next(nodes, i6, x)
		n7 := next(nodes, i7, x)
		if (n0^i0)|(n1^i1)|(n2^i2)|(n3^i3)|(n4^i4)|(n5^i5)|(n6^i6)|(n7^i7) == 0 {
			return [treeGroup]slot{i0, i1, i2, i3, i4, i5, i6, i7}
		}
		i0, i1, i2, i3, i4, i5, i6, i7 = n0, n1, n2, n3, n4, n5, n6, n7
	}
}

// walkTreesAny is walkTrees for models with slow splits. Those are rare in most such
// models, so the tests for them are well predicted.
func (m *Model) walkTreesAny(roots *rootGroup, x []float64) [treeGroup]slot {
	nodes := m.nodes
	i0, i1, i2, i3, i4, i5, i6, i7 := roots[0], roots[1], roots[2], roots[3], roots[4], roots[5], roots[6], roots[7]
	for {
		n0 := nextMasked(nodes, i0, x)
		n1 := nextMasked(nodes, i1, x)
		n2 := nextMasked(nodes, i2, x)
		n3 := nextMasked(nodes, i3, x)
		n4 := nextMasked(nodes, i4, x)
		n5 := nextMasked(nodes, i5, x)
		n6 := nextMasked(nodes, i6, x)
		n7 := nextMasked(nodes, i7, x)
		if nodes[i0].meta&flagSlow != 0 {
			n0 = m.nextSlow(i0, x, 1)
		}
		if nodes[i1].meta&flagSlow != 0 {
			n1 = m.nextSlow(i1, x, 1)
		}
		if nodes[i2].meta&flagSlow != 0 {
			n2 = m.nextSlow(i2, x, 1)
		}
		if nodes[i3].meta&flagSlow != 0 {
			n3 = m.nextSlow(i3, x, 1)
		}
		if nodes[i4].meta&flagSlow != 0 {
			n4 = m.nextSlow(i4, x, 1)
		}
		if nodes[i5].meta&flagSlow != 0 {
			n5 = m.nextSlow(i5, x, 1)
		}
		if nodes[i6].meta&flagSlow != 0 {
			n6 = m.nextSlow(i6, x, 1)
		}
		if nodes[i7].meta&flagSlow != 0 {
			n7 = m.nextSlow(i7, x, 1)
		}
		if (n0^i0)|(n1^i1)|(n2^i2)|(n3^i3)|(n4^i4)|(n5^i5)|(n6^i6)|(n7^i7) == 0 {
			return [treeGroup]slot{i0, i1, i2, i3, i4, i5, i6, i7}
		}
		i0, i1, i2, i3, i4, i5, i6, i7 = n0, n1, n2, n3, n4, n5, n6, n7
	}
}
