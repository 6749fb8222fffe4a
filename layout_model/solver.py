"""Scene -> boxes: size priors plus iterative projection onto the relation constraints.

Every ordering relation becomes an edge of a per-axis DAG (contradicting edges are dropped,
earlier text wins). Sizes are shrunk until the longest chain fits (and anchored boxes have room
on both sides of their anchor), centres start from a topological order, then a few dozen
projection sweeps separate, align, pull to anchors and push unrelated overlaps apart. A final
check guarantees every kept ordering on box centres (falling back to DAG layers on that axis if
projection failed). Unrelated boxes the sweeps leave overlapping get an ordering of their own
(side by side or stacked, whichever shrinks the boxes least) and the scene is solved again, so
things the text does not put together do not share pixels.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .lexicon import GLOBAL_PRIOR, PRIOR_ASPECT, SIZE_PRIORS, SQUARE_NOUNS
from .scene import Entity, Scene

MIN_GAP = 0.02  # guaranteed centre distance for every ordering constraint
MAX_SIDE, MIN_SIDE = 0.6, 0.06
GROUP_MAX = 0.9  # a group of instances spans at most this much of either side
ITERATIONS = 40
ANCHOR_PULL = 0.35
REPULSION = 0.5  # share of an unrelated pair's overlap removed per sweep
MIN_SHRINK = 0.5  # separated boxes that still overlap after solving shrink by at most this factor per pair
TOUCH = 0.01  # an overlap below this fraction of the pair's mean size counts as touching
ANCHORED_MOBILITY = 0.25
JITTER = 0.08  # seed != 0: random offset of starting centres
SPREAD_ROUNDS = 4  # re-solves that order still-overlapping unrelated pairs apart

# relation -> (axis, trajector comes first on that axis, constraint kind)
_ORDERING: dict[str, tuple[int, bool, str]] = {
    "left of": (0, True, "sep"), "right of": (0, False, "sep"),
    "above": (1, True, "sep"), "below": (1, False, "sep"),
    "on": (1, True, "contact"), "under": (1, False, "contact"),
    "behind": (1, True, "loose"), "in front of": (1, False, "loose"),
}
_DEPTH_SCALE = {"in front of": 1.1, "behind": 0.9}

Box = tuple[float, float, float, float]


@dataclass
class _Shape:
    """Instance size and grid of one entity; group size derives from them."""

    w: float
    h: float
    cols: int
    rows: int

    @property
    def size(self) -> tuple[float, float]:
        return self.w * self.cols, self.h * self.rows

    def scaled(self, factor: float) -> "_Shape":
        return _Shape(self.w * factor, self.h * factor, self.cols, self.rows)


class _Order:
    """Strict-order constraints on one axis, kept acyclic."""

    def __init__(self, n: int):
        self.succ: list[set[int]] = [set() for _ in range(n)]
        self.edges: list[tuple[int, int, str]] = []
        self.kind: dict[tuple[int, int], str] = {}

    def reaches(self, a: int, b: int) -> bool:
        stack, seen = [a], {a}
        while stack:
            node = stack.pop()
            if node == b:
                return True
            for nxt in self.succ[node] - seen:
                seen.add(nxt)
                stack.append(nxt)
        return False

    def add(self, a: int, b: int, kind: str) -> bool:
        """Require a before b; refuse (False) if that would contradict earlier edges."""
        if b in self.succ[a]:
            return True
        if a == b or self.reaches(b, a):
            return False
        self.succ[a].add(b)
        self.edges.append((a, b, kind))
        self.kind[(a, b)] = kind
        return True

    def ordered(self, a: int, b: int) -> bool:
        return self.reaches(a, b) or self.reaches(b, a)

    def ordered_pairs(self) -> set[tuple[int, int]]:
        """Every `(min, max)` pair that a chain of edges orders, in one pass (`ordered` for all pairs)."""
        pairs: set[tuple[int, int]] = set()
        for a in range(len(self.succ)):
            stack, seen = list(self.succ[a]), set(self.succ[a])
            while stack:
                node = stack.pop()
                pairs.add((min(a, node), max(a, node)))
                for nxt in self.succ[node] - seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return pairs


def solve(scene: Scene, width: int, height: int, seed: int = 0) -> list[list[Box]]:
    """Boxes `(x0, y0, x1, y1)` in [0, 1] for each instance of each entity."""
    n = len(scene.entities)
    if n == 0:
        return []
    rng = random.Random(seed) if seed else None
    depth = [1.0] * n
    orders, aligns = _constraints(scene, depth, rng)
    rooms = _group_rooms(scene.entities, orders)
    sized = [_shape(e, width, height, depth[i], rooms[i]) for i, e in enumerate(scene.entities)]
    related = {(min(i, j), max(i, j)) for i, _, j in scene.relations}
    for spread in range(SPREAD_ROUNDS + 1):
        shapes, centres = _place(scene.entities, sized, orders, aligns, rng)
        crowded = _crowded(related, orders, shapes, centres)
        if not crowded or spread == SPREAD_ROUNDS:
            break
        if spread == SPREAD_ROUNDS - 1:  # the last re-solve orders every unrelated pair, so none can meet again
            crowded += [p for p in _free_pairs(orders, n) if p not in related and p not in crowded]
        _order_apart(orders, crowded, scene.entities, shapes, centres)
    return [_instances(shapes[i], centres[i], e.count) for i, e in enumerate(scene.entities)]


def _place(entities: list[Entity], sized: list[_Shape], orders: tuple[_Order, _Order],
           aligns: list[tuple[int, int, int, float]], rng: random.Random | None
           ) -> tuple[list[_Shape], list[list[float]]]:
    """Shapes (shrunk so the longest chain fits) and centres that satisfy every kept ordering."""
    factor = min(1.0, *(0.98 / _extent(orders[a], entities, sized, a) for a in (0, 1)))
    shapes = [s.scaled(factor) for s in sized]
    centres = _initial_centres(entities, orders, rng)
    _project(entities, shapes, centres, orders, aligns)
    for axis in (0, 1):
        if not _satisfied(orders[axis], centres, axis):
            _layer_axis(orders[axis], shapes, centres, axis)
    _shrink_separated(orders, shapes, centres)
    return shapes, centres


def _crowded(related: set[tuple[int, int]], orders: tuple[_Order, _Order], shapes: list[_Shape],
             c: list[list[float]]) -> list[tuple[int, int]]:
    """Pairs no relation connects (not even through a chain) whose boxes still overlap beyond touching.

    Where two regions overlap the patch adds both local prompts to the same pixels, so things the text does
    not put together must not share them; the soft repulsion of the projection does not guarantee that."""
    found = []
    for i, j in _free_pairs(orders, len(shapes)):
        if (i, j) not in related:
            ox, oy = _penetration(c[i], c[j], shapes[i].size, shapes[j].size)
            half = [(shapes[i].size[k] + shapes[j].size[k]) / 2 for k in (0, 1)]
            if ox > TOUCH * half[0] and oy > TOUCH * half[1]:
                found.append((i, j))
    return found


def _order_apart(orders: tuple[_Order, _Order], crowded: list[tuple[int, int]], entities: list[Entity],
                 shapes: list[_Shape], c: list[list[float]]) -> None:
    """Order each unrelated overlapping pair apart: across the axis on which they share a landmark, else on the
    axis and in the direction that lengthen the chains least, so that boxes shrink least; ties keep the current
    order and take the axis where the pair overlaps least. A pair an earlier one of the list already ordered
    (through a chain) is left as it is."""
    rooms = [_Room(orders[axis], entities, shapes, axis) for axis in (0, 1)]
    for i, j in crowded:
        if orders[0].ordered(i, j) or orders[1].ordered(i, j):
            continue
        penetration = _penetration(c[i], c[j], shapes[i].size, shapes[j].size)
        options = []
        for axis in (0, 1):
            beside = _share_landmark(orders[axis], i, j)
            for a, b in ((i, j), (j, i)):
                longest = max(rooms[1 - axis].longest, rooms[axis].longest_with(a, b))
                options.append((beside, round(longest, 6), c[a][axis] > c[b][axis], penetration[axis], axis, a, b))
        *_, axis, a, b = min(options)
        rooms[axis].separate(a, b)


def _share_landmark(order: _Order, i: int, j: int) -> bool:
    """Whether i and j are both ordered against one other box on this axis ("a cup and a fork left of the plate",
    "a cat and a dog on the car"): ordered apart on it as well they would form a column through their landmark;
    across it both keep their place beside it."""
    linked = [order.succ[k] | {p for p in range(len(order.succ)) if k in order.succ[p]} for k in (i, j)]
    return bool(linked[0] & linked[1])


class _Room:
    """Packed chains on one axis: `longest` is the longest chain (1.0 = the canvas), or more where an anchored box
    leaves too little room before or after it on its chain; `longest_with` prices one more separation."""

    def __init__(self, order: _Order, entities: list[Entity], shapes: list[_Shape], axis: int):
        self.order = order
        self.size = [s.size[axis] for s in shapes]
        self.before = _reach(order, self.size, forward=True)
        self.after = _reach(order, self.size, forward=False)
        self.target = [e.anchor[axis] if e.anchor and e.anchor[axis] is not None and 0 < e.anchor[axis] < 1
                       else None for e in entities]
        self.longest = self._longest()

    def _longest(self) -> float:
        longest = max(b + s / 2 for b, s in zip(self.before, self.size))
        for k, target in enumerate(self.target):
            if target is not None:
                longest = max(longest, self.before[k] / target, self.after[k] / (1 - target))
        return longest

    def longest_with(self, a: int, b: int) -> float:
        """`longest` once a comes before b (anchors of boxes further along the new chain are not re-priced)."""
        gap = _gap("sep", self.size[a], self.size[b])
        longest = max(self.longest, self.before[a] + gap + self.after[b])
        if self.target[b] is not None:
            longest = max(longest, (self.before[a] + gap) / self.target[b])
        if self.target[a] is not None:
            longest = max(longest, (gap + self.after[b]) / (1 - self.target[a]))
        return longest

    def separate(self, a: int, b: int) -> None:
        """Order a before b, apart, and update the packed chains through the new edge."""
        self.order.add(a, b, "sep")
        gap = _gap("sep", self.size[a], self.size[b])
        self._push(self.before, b, self.before[a] + gap, forward=True)
        self._push(self.after, a, self.after[b] + gap, forward=False)
        self.longest = self._longest()

    def _push(self, reach: list[float], start: int, value: float, forward: bool) -> None:
        """Raise reach[start] to value and carry the rise along the chains (forward: to successors)."""
        stack = [(start, value)]
        while stack:
            node, value = stack.pop()
            if value <= reach[node]:
                continue
            reach[node] = value
            succ = self.order.succ
            for nxt in succ[node] if forward else [p for p in range(len(reach)) if node in succ[p]]:
                kind = self.order.kind[(node, nxt) if forward else (nxt, node)]
                stack.append((nxt, value + _gap(kind, self.size[node], self.size[nxt])))


def _extent(order: _Order, entities: list[Entity], shapes: list[_Shape], axis: int) -> float:
    """How much canvas the chains on one axis need at these sizes (1.0 = all of it)."""
    return _Room(order, entities, shapes, axis).longest


def _reach(order: _Order, size: list[float], forward: bool) -> list[float]:
    """Distance from the start (forward) or the end of the canvas to each centre when every chain is packed."""
    reach = [s / 2 for s in size]
    steps = [(a, b, order.kind[(a, b)]) for a in _topological(order, range(len(size))) for b in order.succ[a]]
    for a, b, kind in steps if forward else reversed(steps):
        first, then = (a, b) if forward else (b, a)
        reach[then] = max(reach[then], reach[first] + _gap(kind, size[a], size[b]))
    return reach


def _constraints(scene: Scene, depth: list[float], rng: random.Random | None
                 ) -> tuple[tuple[_Order, _Order], list[tuple[int, int, int, float]]]:
    """Per-axis orders and soft alignments `(axis, i, j, strength)` from the relations."""
    n = len(scene.entities)
    orders = (_Order(n), _Order(n))
    aligns: list[tuple[int, int, int, float]] = []
    deferred: list[tuple[int, str, int]] = []
    # Depth cues ("in front of", "behind") only tilt y: they yield to explicit above/below.
    ranked = sorted(scene.relations, key=lambda r: _ORDERING.get(r[1], (0, 0, ""))[2] == "loose")
    for i, rel, j in ranked:
        if rel not in _ORDERING:
            deferred.append((i, rel, j))
            continue
        axis, first, kind = _ORDERING[rel]
        a, b = (i, j) if first else (j, i)
        if orders[axis].add(a, b, kind):
            strength = 0.5 if kind == "contact" else 0.15
            aligns.append((1 - axis, i, j, strength))
            depth[i] *= _DEPTH_SCALE.get(rel, 1.0)
    between: dict[int, list[int]] = {}
    for i, rel, j in deferred:
        if rel == "next to":
            _add_either(orders[0], i, j, rng)
            aligns.append((1, i, j, 0.15))
        else:
            between.setdefault(i, []).append(j)
    for x, landmarks in between.items():
        if len(landmarks) >= 2:
            _add_between(orders[0], x, landmarks[0], landmarks[1])
        for lm in landmarks:
            aligns.append((1, x, lm, 0.15))
        if len(landmarks) == 1:  # between the members of one group: in front, centred
            orders[1].add(landmarks[0], x, "loose")
            aligns.append((0, x, landmarks[0], 0.5))
    return orders, aligns


def _add_either(order: _Order, i: int, j: int, rng: random.Random | None) -> None:
    """"next to": keep an existing order, else earlier entity left (seed may flip it)."""
    if order.ordered(i, j):
        return
    a, b = (min(i, j), max(i, j))
    if rng is not None and rng.random() < 0.5:
        a, b = b, a
    order.add(a, b, "sep")


def _add_between(order: _Order, x: int, a: int, b: int) -> None:
    if order.reaches(b, a) or order.reaches(b, x) or order.reaches(x, a):
        a, b = b, a
    if not (order.add(a, x, "sep") and order.add(x, b, "sep")):
        order.add(b, x, "sep") and order.add(x, a, "sep")


def _group_rooms(entities: list[Entity], orders: tuple[_Order, _Order]) -> list[tuple[float, float]]:
    """The share of the canvas a group of instances may fill: GROUP_MAX of the frame part its text names (or of
    the frame), divided on each axis among the boxes of the longest chain through it."""
    rooms = []
    chains = [_chain_lengths(order, len(entities)) for order in orders]
    for i, entity in enumerate(entities):
        part = entity.part or (0.0, 0.0, 1.0, 1.0)
        rooms.append((GROUP_MAX * (part[2] - part[0]) / chains[0][i], GROUP_MAX * (part[3] - part[1]) / chains[1][i]))
    return rooms


def _chain_lengths(order: _Order, n: int) -> list[int]:
    """Boxes on the longest chain through each box (1 for a box no relation orders)."""
    into = [1] * n
    nodes = _topological(order, range(n))
    for a in nodes:
        for b in order.succ[a]:
            into[b] = max(into[b], into[a] + 1)
    out = [1] * n
    for a in reversed(nodes):
        for b in order.succ[a]:
            out[a] = max(out[a], out[b] + 1)
    return [into[k] + out[k] - 1 for k in range(n)]


def _columns(count: int, w: float, h: float, room: tuple[float, float]) -> int:
    """Columns of a group's grid: a row up to four, else a square-ish grid, unless another arrangement lets the
    instances stay larger inside `room` (a long row on a wide canvas, a column in a tall third)."""
    default = count if count <= 4 else math.ceil(math.sqrt(count))

    def scale(cols: int) -> float:
        return min(1.0, room[0] / (w * cols), room[1] / (h * math.ceil(count / cols)))

    return max(range(1, count + 1), key=lambda cols: (round(scale(cols), 6), -abs(cols - default)))


def _shape(entity: Entity, width: int, height: int, depth: float, room: tuple[float, float]) -> _Shape:
    """Prior size kept at the prior's pixel aspect on this canvas, then attributes and count (a group's grid fits
    its `room`)."""
    pw, ph = SIZE_PRIORS.get(entity.category or "", GLOBAL_PRIOR)
    area = pw * ph
    pixel_aspect = 1.0 if entity.category is None and entity.noun in SQUARE_NOUNS else (pw / ph) * PRIOR_ASPECT
    aspect = pixel_aspect * height / width
    w, h = math.sqrt(area * aspect), math.sqrt(area / aspect)
    scale = entity.scale * depth
    w, h = w * scale * entity.size_factor[0], h * scale * entity.size_factor[1]
    big = max(w, h)
    if big > MAX_SIDE:
        w, h = w * MAX_SIDE / big, h * MAX_SIDE / big
    w, h = max(w, MIN_SIDE), max(h, MIN_SIDE)
    count = max(1, entity.count)
    if count == 1:
        return _Shape(w, h, 1, 1)
    cols = _columns(count, w, h, room)
    rows = math.ceil(count / cols)
    fit = min(1.0, room[0] / (w * cols), room[1] / (h * rows))
    return _Shape(w * fit, h * fit, cols, rows)


def _gap(kind: str, a: float, b: float) -> float:
    """Centre distance wanted between two boxes of sizes a and b on the constrained axis.

    Separated boxes just touch: where two regions overlap, the patch adds both local prompts to the same
    pixels, which mixes the objects' attributes (docs/lab.md compares touching boxes with a 10 % overlap on
    the lab's validation split)."""
    if kind == "loose":
        return max(2 * MIN_GAP, 0.25 * (a + b) / 2)
    return max(2 * MIN_GAP, (a + b) / 2)


def _topological(order: _Order, nodes) -> list[int]:
    """Kahn's algorithm, ties broken by entity index (first mentioned first)."""
    nodes = list(nodes)
    indegree = {i: 0 for i in nodes}
    for a in nodes:
        for b in order.succ[a]:
            indegree[b] += 1
    ready = sorted(i for i in nodes if indegree[i] == 0)
    result: list[int] = []
    while ready:
        node = ready.pop(0)
        result.append(node)
        for b in sorted(order.succ[node]):
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
                ready.sort()
    return result


def _layers(order: _Order, n: int) -> list[int]:
    layer = [0] * n
    for a in _topological(order, range(n)):
        for b in order.succ[a]:
            layer[b] = max(layer[b], layer[a] + 1)
    return layer


def _initial_centres(entities: list[Entity], orders: tuple[_Order, _Order],
                     rng: random.Random | None) -> list[list[float]]:
    """x from a topological order (unconstrained ones spread left to right), y from layers."""
    n = len(entities)
    rank = {e: k for k, e in enumerate(_topological(orders[0], range(n)))}
    layer = _layers(orders[1], n)
    depth = max(layer) + 1
    in_y = {a for a, b, _ in orders[1].edges} | {b for a, b, _ in orders[1].edges}
    centres = []
    for i, entity in enumerate(entities):
        x = (rank[i] + 0.5) / n
        y = (layer[i] + 0.5) / depth if i in in_y else 0.5
        if rng is not None:
            x += rng.uniform(-JITTER, JITTER)
            y += rng.uniform(-JITTER, JITTER)
        if entity.anchor:
            x = entity.anchor[0] if entity.anchor[0] is not None else x
            y = entity.anchor[1] if entity.anchor[1] is not None else y
        centres.append([x, y])
    return centres


def _project(entities: list[Entity], shapes: list[_Shape], c: list[list[float]],
             orders: tuple[_Order, _Order], aligns: list[tuple[int, int, int, float]]) -> None:
    n = len(entities)
    sizes = [s.size for s in shapes]
    mobility = [[ANCHORED_MOBILITY if e.anchor and e.anchor[a] is not None else 1.0
                 for a in (0, 1)] for e in entities]
    free_pairs = _free_pairs(orders, n)
    for _ in range(ITERATIONS):
        for axis in (0, 1):
            for a, b, kind in orders[axis].edges:
                gap = _gap(kind, sizes[a][axis], sizes[b][axis])
                error = gap - (c[b][axis] - c[a][axis])
                if error > 0 or kind == "contact":
                    _move(c, mobility, axis, a, b, -error * (0.5 if kind == "contact" else 1.0))
        for axis, i, j, strength in aligns:
            if not orders[axis].ordered(i, j):
                _move(c, mobility, axis, i, j, (c[j][axis] - c[i][axis]) * strength)
        for i, j, ox, oy in _overlaps(free_pairs, c, sizes):
            axis = 0 if ox <= oy else 1
            a, b = (i, j) if c[i][axis] <= c[j][axis] else (j, i)
            _move(c, mobility, axis, a, b, -REPULSION * (ox if axis == 0 else oy))
        for i, entity in enumerate(entities):
            for axis in (0, 1):
                target = entity.anchor[axis] if entity.anchor else None
                if target is not None:
                    c[i][axis] += ANCHOR_PULL * (target - c[i][axis])
                half = sizes[i][axis] / 2
                c[i][axis] = min(max(c[i][axis], half), 1 - half)


def _free_pairs(orders: tuple[_Order, _Order], n: int) -> list[tuple[int, int]]:
    """Pairs `(i, j)`, i < j, that no chain orders on either axis."""
    ordered = orders[0].ordered_pairs() | orders[1].ordered_pairs()
    return [(i, j) for i in range(n) for j in range(i + 1, n) if (i, j) not in ordered]


def _shrink_separated(orders: tuple[_Order, _Order], shapes: list[_Shape], c: list[list[float]]) -> None:
    """Shrink (about their centres, by at most MIN_SHRINK per pair) the boxes of separated pairs that the soft
    projection left overlapping. Centres do not move, so every relation stays as solved; smaller boxes overlap nothing new."""
    for axis in (0, 1):
        for a, b, kind in orders[axis].edges:
            if kind != "sep":
                continue
            ox, oy = _penetration(c[a], c[b], shapes[a].size, shapes[b].size)
            half = [(shapes[a].size[k] + shapes[b].size[k]) / 2 for k in (0, 1)]
            if ox <= TOUCH * half[0] or oy <= TOUCH * half[1]:
                continue  # apart (or touching) on one axis
            factor = max(MIN_SHRINK, 1 - ox / half[0], 1 - oy / half[1])
            shapes[a], shapes[b] = shapes[a].scaled(factor), shapes[b].scaled(factor)


def _move(c: list[list[float]], mobility: list[list[float]], axis: int, a: int, b: int,
          amount: float) -> None:
    """Shift a by +amount and b by -amount (split by mobility): negative amount separates."""
    ma, mb = mobility[a][axis], mobility[b][axis]
    total = ma + mb
    c[a][axis] += amount * ma / total
    c[b][axis] -= amount * mb / total


def _overlaps(pairs: list[tuple[int, int]], c: list[list[float]],
              sizes: list[tuple[float, float]]) -> list[tuple[int, int, float, float]]:
    """Unrelated pairs whose boxes overlap by more than 15 % of the smaller one."""
    found = []
    for i, j in pairs:
        ox, oy = _penetration(c[i], c[j], sizes[i], sizes[j])
        if ox > 0 and oy > 0:
            smaller = min(sizes[i][0] * sizes[i][1], sizes[j][0] * sizes[j][1])
            if ox * oy > 0.15 * smaller:
                found.append((i, j, ox, oy))
    return found


def _penetration(ca: list[float], cb: list[float], sa: tuple[float, float], sb: tuple[float, float]
                 ) -> tuple[float, float]:
    """How far two boxes (centres ca, cb; sizes sa, sb) overlap on x and on y; <= 0 means apart on that axis."""
    return (sa[0] + sb[0]) / 2 - abs(ca[0] - cb[0]), (sa[1] + sb[1]) / 2 - abs(ca[1] - cb[1])


def _satisfied(order: _Order, c: list[list[float]], axis: int) -> bool:
    return all(c[b][axis] - c[a][axis] >= MIN_GAP for a, b, _ in order.edges)


def _layer_axis(order: _Order, shapes: list[_Shape], c: list[list[float]], axis: int) -> None:
    """Fallback: place constrained entities on evenly spaced DAG layers along `axis`."""
    n = len(shapes)
    layer = _layers(order, n)
    count = max(layer) + 1
    involved = {a for a, b, _ in order.edges} | {b for a, b, _ in order.edges}
    for i in involved:
        size = shapes[i].size[axis]
        if size > 1 / count:
            shapes[i] = shapes[i].scaled(1 / count / size)
        c[i][axis] = (layer[i] + 0.5) / count


def _instances(shape: _Shape, centre: list[float], count: int) -> list[Box]:
    """Instance boxes of a group, row by row inside the group box (last row centred)."""
    gw, gh = shape.size
    boxes: list[Box] = []
    for k in range(max(1, count)):
        row, col = divmod(k, shape.cols)
        in_row = min(shape.cols, count - row * shape.cols)
        offset = (shape.cols - in_row) * shape.w / 2
        boxes.append(_box(centre[0] - gw / 2 + offset + (col + 0.5) * shape.w,
                          centre[1] - gh / 2 + (row + 0.5) * shape.h, shape.w, shape.h))
    return boxes


def _box(cx: float, cy: float, w: float, h: float) -> Box:
    x0, y0 = min(max(cx - w / 2, 0.0), 1.0 - w), min(max(cy - h / 2, 0.0), 1.0 - h)
    return (round(x0, 4), round(y0, 4), round(x0 + w, 4), round(y0 + h, 4))
