"""The method in joint attention (spacetime.joint) against its equations written out with plain softmax."""
from __future__ import annotations

import pytest
import torch

from spacetime.blocks import parse_blocks
from spacetime.joint import RegionCells, RegionGroups, TokenLayout, regional_joint_attention


def _softmax_attention(q, k, v):
    scores = q.double() @ k.double().transpose(-1, -2) / q.shape[-1] ** 0.5
    return scores.softmax(-1) @ v.double()


def _flat(x):
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def _case(seed=0, batch=3, heads=2, dim=8, lengths=(3, 4, 2), prompt=5, grid=(3, 4), extra=2):
    gen = torch.Generator().manual_seed(seed)
    layout = TokenLayout.from_lengths(list(lengths), prompt, grid)
    n = layout.prefix + prompt + grid[0] * grid[1] + extra
    q, k, v = (torch.randn(batch, heads, n, dim, generator=gen) for _ in range(3))
    cells = RegionCells(torch.tensor([0, 1, 4, 5, 6, 7, 11]), (torch.tensor([0, 1, 2, 3]), torch.tensor([3, 4, 5, 6])),
                        (torch.ones(4), torch.tensor([1.0, 0.5, 1.0, 1.0])))
    assert [c.tolist() for c in cells.indices] == [[0, 1, 4, 5], [5, 6, 7, 11]]
    return layout, q, k, v, cells


def _main(q, k, v, layout):
    """The model's own attention on the tokens after the local prompts."""
    p = layout.prefix
    return lambda: _flat(_softmax_attention(q[:, :, p:], k[:, :, p:], v[:, :, p:])).float()


@pytest.mark.parametrize("mode", ["guidance", "mix"])
def test_every_part_of_the_output_follows_the_equations(mode):
    layout, q, k, v, cells = _case()
    rows = torch.tensor([0, 2])                          # row 1 is a negative prompt's: no weight
    weights = torch.tensor([[1.5, 0.7], [0.3, 2.0]])
    out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, weights, rows, mode)
    p, g = layout.prefix, layout.prompt
    main = _flat(_softmax_attention(q[:, :, p:], k[:, :, p:], v[:, :, p:]))
    want = torch.cat([_flat(torch.cat([_softmax_attention(q[:, :, s:e], k[:, :, s:e], v[:, :, s:e])
                                       for s, e in layout.spans], dim=2)), main.clone()], dim=1)
    es, ee = layout.spans[-1]
    for r_pos, r in enumerate(rows.tolist()):
        for i, (s, e) in enumerate(layout.spans[:-1]):
            for cell, m in zip(cells.indices[i].tolist(), cells.values[i].tolist()):
                t = p + g + cell
                qi = q[r:r + 1, :, t:t + 1]
                image = slice(p + g, None)        # the image and extra tokens, read beside the text

                def substituted(a, b):
                    keys = torch.cat([k[r:r + 1, :, a:b], k[r:r + 1, :, image]], dim=2)
                    values = torch.cat([v[r:r + 1, :, a:b], v[r:r + 1, :, image]], dim=2)
                    return _flat(_softmax_attention(qi, keys, values))[0, 0]

                local = substituted(s, e)
                base = substituted(es, ee) if mode == "guidance" else main[r, g + cell]
                want[r, t] += weights[r_pos, i].double() * m * (local - base)
    assert torch.allclose(out.double(), want, atol=1e-5)


def test_prompt_image_and_negative_rows_never_read_the_local_prompts():
    layout, q, k, v, cells = _case(1)
    rows = torch.tensor([0])
    weights = torch.tensor([[2.0, 2.0]])
    out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, weights, rows, "guidance")
    k2, v2 = k.clone(), v.clone()
    k2[:, :, :layout.prefix] += 3.0                      # other local prompts and another empty prompt
    v2[:, :, :layout.prefix] -= 1.0
    other = regional_joint_attention(q, k2, v2, layout, _main(q, k2, v2, layout), cells, weights, rows, "guidance")
    p, g = layout.prefix, layout.prompt
    assert torch.equal(out[:, p:p + g], other[:, p:p + g]), "the prompt's tokens read a local prompt"
    assert torch.equal(out[1:, p:], other[1:, p:]), "a row without weights read a local prompt"
    inside = torch.zeros(layout.grid[0] * layout.grid[1], dtype=torch.bool)
    inside[torch.cat(cells.indices)] = True
    assert torch.equal(out[0, p + g:][:12][~inside], other[0, p + g:][:12][~inside]), "outside read them"
    assert not torch.equal(out[0, p + g:][:12][inside], other[0, p + g:][:12][inside])


def test_zero_weights_and_unpatched_blocks_leave_the_main_attention_as_it_is():
    layout, q, k, v, cells = _case(2)
    p = layout.prefix
    main = _main(q, k, v, layout)()
    for args in ((cells, torch.zeros(1, 2), torch.tensor([0])), (None, torch.ones(1, 2), torch.tensor([0]))):
        out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), *args, "guidance")
        assert torch.equal(out[:, p:], main)


def test_unknown_mode_is_an_error():
    layout, q, k, v, cells = _case()
    with pytest.raises(ValueError, match="mode"):
        regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, torch.ones(1, 2),
                                 torch.tensor([0]), "blend")


def test_restricted_region_attention_keeps_regions_from_reading_each_other():
    """Restricted: a region's cells read the prompt, their own region and the background, not another region;
    cells in two regions read both; the prompt and the background still read everything."""
    layout, q, k, v, cells = _case(3)
    groups = RegionGroups.from_cells(cells, layout.grid)
    assert sorted(len(g) for g in groups.queries) == [1, 3, 3]            # cell 5 lies in both regions
    out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, torch.zeros(1, 2),
                                   torch.tensor([0]), "guidance", groups)
    p, g = layout.prefix, layout.prompt
    n_grid = layout.grid[0] * layout.grid[1]
    region0 = {0, 1, 4, 5}
    region1 = {5, 6, 7, 11}
    for cell in (0, 6, 5):
        mine = {r for r, cs in enumerate((region0, region1)) if cell in cs}
        regions = (region0, region1)
        own = set().union(*(cs for r, cs in enumerate(regions) if r in mine))
        other = set().union(*(cs for r, cs in enumerate(regions) if r not in mine)) - own
        keys = list(range(g)) + [g + c for c in range(n_grid) if c not in other]
        keys += list(range(g + n_grid, q.shape[2] - p))
        keys = torch.tensor([p + t for t in keys])
        t = p + g + cell
        want = _flat(_softmax_attention(q[:, :, t:t + 1], k[:, :, keys], v[:, :, keys]))[:, 0]
        assert torch.allclose(out[:, t].double(), want, atol=1e-5), cell
    open_out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, torch.zeros(1, 2),
                                        torch.tensor([0]))
    assert torch.equal(out[:, p:p + g], open_out[:, p:p + g])           # the prompt reads everything
    assert torch.equal(out[:, p + g + 2], open_out[:, p + g + 2])       # so does the background


@pytest.mark.parametrize("text, chosen", [
    ("all", None), ("", None), ("double", {("double", 0), ("double", 1), ("double", 2)}),
    ("single", {("single", 0), ("single", 1)}),
    ("every other", {("double", 0), ("double", 2), ("single", 0)}),
    ("d0-d1, s1", {("double", 0), ("double", 1), ("single", 1)}), ("D2 , s0-1", {("double", 2), ("single", 0),
                                                                               ("single", 1)}),
])
def test_block_selections(text, chosen):
    result = parse_blocks(text, {"double": 3, "single": 2})
    assert result == (None if chosen is None else frozenset(chosen))


@pytest.mark.parametrize("text, message", [("d3", "outside this model's 3 double-stream"),
                                           ("x1", "cannot read 'x1'"), ("s1-s0", "outside"), (",", "no block")])
def test_bad_block_selections_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_blocks(text, {"double": 3, "single": 2})


@pytest.mark.parametrize("mode", ["guidance", "mix"])
def test_restricted_region_terms_read_their_own_region_and_the_background(mode):
    """Restricted: region i's term reads its local prompt beside region i's cells, the background and the extra
    tokens only; changing the cells only region 1 holds leaves region 0's exclusive cells as they were."""
    layout, q, k, v, cells = _case(4)
    groups = RegionGroups.from_cells(cells, layout.grid)
    assert [c.tolist() for c in groups.region_keys] == [[0, 1, 2, 3, 4, 5, 8, 9, 10], [2, 3, 5, 6, 7, 8, 9, 10, 11]]
    weights, rows = torch.tensor([[1.0, 1.0]]), torch.tensor([0])
    out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, weights, rows, mode, groups)
    p, g = layout.prefix, layout.prompt
    only_region1 = torch.tensor([6, 7, 11]) + p + g
    k2, v2 = k.clone(), v.clone()
    k2[:, :, only_region1] += 2.0
    v2[:, :, only_region1] -= 3.0
    other = regional_joint_attention(q, k2, v2, layout, _main(q, k2, v2, layout), cells, weights, rows, mode, groups)
    for cell in (0, 1, 4):                                  # region 0 only
        assert torch.equal(out[:, p + g + cell], other[:, p + g + cell]), cell
    assert not torch.equal(out[:, p + g + 7], other[:, p + g + 7])


@pytest.mark.parametrize("restricted", [False, True])
def test_regions_without_a_cell_on_this_grid_add_nothing(restricted):
    """Boxes too small for a coarse token grid leave no cell: the call computes the main attention alone."""
    layout, q, k, v, _ = _case(5)
    empty = torch.zeros(0, dtype=torch.long)
    cells = RegionCells(empty, (empty, empty), (torch.zeros(0), torch.zeros(0)))
    groups = RegionGroups.from_cells(cells, layout.grid) if restricted else None
    out = regional_joint_attention(q, k, v, layout, _main(q, k, v, layout), cells, torch.ones(1, 2),
                                   torch.tensor([0]), "guidance", groups)
    assert torch.equal(out[:, layout.prefix:], _main(q, k, v, layout)())
