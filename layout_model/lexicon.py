"""Word tables for the rule parser: COCO-80 names, synonyms, plurals, attributes, size priors.

Everything here is data (project-authored, small) so that the parser code stays readable and the
vocabulary can grow without touching the logic.
"""

from __future__ import annotations

COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

# Singular synonym -> COCO category (the category names themselves are added automatically).
SYNONYMS: dict[str, str] = {
    # people
    "man": "person", "woman": "person", "boy": "person", "girl": "person", "child": "person",
    "kid": "person", "baby": "person", "toddler": "person", "infant": "person", "lady": "person",
    "guy": "person", "gentleman": "person", "player": "person", "skier": "person",
    "surfer": "person", "skateboarder": "person", "snowboarder": "person", "rider": "person",
    "pedestrian": "person", "chef": "person", "worker": "person", "policeman": "person",
    "police officer": "person", "soldier": "person", "farmer": "person", "tourist": "person",
    "student": "person", "teacher": "person", "doctor": "person", "athlete": "person",
    "adult": "person", "teenager": "person", "human": "person", "individual": "person",
    "businessman": "person", "cowboy": "person", "batter": "person", "catcher": "person",
    "pitcher": "person", "umpire": "person", "cyclist": "person", "biker": "person",
    # vehicles
    "bike": "bicycle", "automobile": "car", "sedan": "car", "taxi": "car", "van": "car",
    "jeep": "car", "suv": "car", "motorbike": "motorcycle", "dirt bike": "motorcycle",
    "scooter": "motorcycle", "moped": "motorcycle", "aeroplane": "airplane", "plane": "airplane",
    "jet": "airplane", "airliner": "airplane", "aircraft": "airplane", "jetliner": "airplane",
    "lorry": "truck", "pickup truck": "truck", "fire truck": "truck", "firetruck": "truck",
    "minibus": "bus", "locomotive": "train", "tram": "train", "ship": "boat", "sailboat": "boat",
    "yacht": "boat", "canoe": "boat", "kayak": "boat", "ferry": "boat",
    # street
    "traffic signal": "traffic light", "stoplight": "traffic light", "hydrant": "fire hydrant",
    # animals
    "pigeon": "bird", "seagull": "bird", "gull": "bird", "duck": "bird", "parrot": "bird",
    "eagle": "bird", "owl": "bird", "crow": "bird", "sparrow": "bird", "swan": "bird",
    "goose": "bird", "chicken": "bird", "hen": "bird", "rooster": "bird", "penguin": "bird",
    "pelican": "bird", "flamingo": "bird", "kitten": "cat", "kitty": "cat", "puppy": "dog",
    "pup": "dog", "doggy": "dog", "pony": "horse", "foal": "horse", "lamb": "sheep",
    "calf": "cow", "bull": "cow", "ox": "cow", "cattle": "cow", "polar bear": "bear",
    "grizzly": "bear",
    # accessories and sports
    "rucksack": "backpack", "knapsack": "backpack", "parasol": "umbrella", "purse": "handbag",
    "bag": "handbag", "necktie": "tie", "luggage": "suitcase", "ski": "skis",
    "ball": "sports ball", "football": "sports ball", "soccer ball": "sports ball",
    "basketball": "sports ball", "baseball": "sports ball", "tennis ball": "sports ball",
    "volleyball": "sports ball", "beach ball": "sports ball", "golf ball": "sports ball",
    "bat": "baseball bat", "glove": "baseball glove", "mitt": "baseball glove",
    "baseball mitt": "baseball glove", "racket": "tennis racket", "racquet": "tennis racket",
    "tennis racquet": "tennis racket", "skate board": "skateboard", "surf board": "surfboard",
    # kitchen and food
    "glass": "wine glass", "goblet": "wine glass", "mug": "cup", "teacup": "cup",
    "coffee cup": "cup", "burger": "sandwich", "hamburger": "sandwich", "doughnut": "donut",
    "hotdog": "hot dog", "cupcake": "cake",
    # furniture and household
    "armchair": "chair", "sofa": "couch", "loveseat": "couch", "settee": "couch",
    "plant": "potted plant", "houseplant": "potted plant", "flowerpot": "potted plant",
    "flower pot": "potted plant", "table": "dining table", "dinner table": "dining table",
    "kitchen table": "dining table", "television": "tv", "tv set": "tv", "telly": "tv",
    "laptop computer": "laptop", "remote control": "remote", "phone": "cell phone",
    "cellphone": "cell phone", "mobile phone": "cell phone", "smartphone": "cell phone",
    "microwave oven": "microwave", "stove": "oven", "fridge": "refrigerator", "teddy": "teddy bear",
    "hair dryer": "hair drier", "hairdryer": "hair drier", "blow dryer": "hair drier",
    "drier": "hair drier", "dryer": "hair drier",
}

IRREGULAR_PLURALS: dict[str, str] = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
    "knife": "knives", "sheep": "sheep", "calf": "calves", "ox": "oxen", "goose": "geese",
    "gentleman": "gentlemen", "policeman": "policemen", "businessman": "businessmen",
    "cowboy": "cowboys", "deer": "deer", "fish": "fish", "broccoli": "broccoli",
    "luggage": "luggage", "cattle": "cattle", "skis": "skis", "scissors": "scissors",
    "ski": "skis", "aircraft": "aircraft",
}

# Nouns whose plural form names one object (a pair of skis is one COCO "skis").
PAIR_NOUNS: frozenset[str] = frozenset({"skis", "scissors", "glasses", "pants", "jeans", "shorts",
                                        "binoculars", "headphones", "sunglasses", "goggles"})

# Collective nouns that name a group of people when not followed by "of" ("a couple on a bench").
PERSON_GROUPS: dict[str, int] = {"couple": 2, "crowd": 3, "family": 3, "team": 3}

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "single": 1, "lone": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "both": 2,
    "several": 3, "few": 3, "many": 4, "multiple": 3, "numerous": 4, "dozen": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
}

# Count words that multiply the number before them ("two dozen" = 24).
MULTIPLIERS: frozenset[str] = frozenset({"dozen", "hundred"})

# "<word> of X": the word counts X ("a pair of dogs") and is not an object itself.
PARTITIVES: dict[str, int] = {
    "pair": 2, "couple": 2, "trio": 3, "quartet": 4, "handful": 3, "dozens": 24, "hundreds": 100,
    "group": 3, "herd": 3, "flock": 3, "bunch": 3, "pack": 3, "crowd": 3, "team": 3, "family": 3, "set": 3,
    "stack": 3, "pile": 3, "row": 3, "line": 3, "lot": 4, "lots": 4, "number": 3, "collection": 3,
    "variety": 3, "slice": 1, "piece": 1, "deal": 1, "amount": 1, "stalk": 1, "head": 1, "loaf": 1, "roll": 1,
    "side": 1, "plate": 1, "bowl": 1, "box": 1, "cup": 1,
}

# "<word> of X": X is the object, the word only frames the picture ("a photo of a dog").
FRAME_NOUNS: frozenset[str] = frozenset({
    "picture", "photo", "photograph", "image", "painting", "drawing", "illustration", "view",
    "scene", "shot", "close-up", "closeup", "rendering", "render", "sketch", "portrait", "still",
    "snapshot", "depiction", "artwork", "poster", "kind", "type", "sort", "collage", "cartoon", "comic",
    "watercolor", "watercolour", "style",
})

# Determiner-anchored chunks with these heads are never objects ("the right", "the image").
NON_OBJECTS: frozenset[str] = frozenset({
    "left", "right", "top", "bottom", "middle", "center", "centre", "front", "back", "rear",
    "side", "sides", "edge", "corner", "half", "part", "area", "foreground", "background",
    "distance", "way", "time", "moment", "day", "night", "morning", "evening", "afternoon",
    "image", "picture", "photo", "photograph", "scene", "view", "frame", "canvas", "composition",
    "shot", "same", "other", "rest", "bit", "lot", "few", "little", "glow", "display",
    "atmosphere", "contrast", "balance", "arrangement", "pattern", "setting", "sense", "effect",
    "touch", "hint", "mood", "feeling", "look", "sight", "spot", "position", "place", "location",
    "direction", "surface", "air", "hand", "hands", "head", "feet", "foot", "arm", "arms", "leg",
    "legs", "face", "eyes", "eye", "shoulder", "shoulders", "lap", "mouth", "paw", "paws", "tail",
    "fur", "screen", "size", "shape", "color", "colour", "design", "glance", "combination", "snack",
    "meal", "day", "game", "swing", "fun", "sunlight", "light", "shade", "shadow", "beauty",
    "moment", "world", "environment", "space", "room", "line", "row", "variety", "number",
    "group", "pair", "couple", "set", "one", "ones", "each", "all", "something", "anything",
    "nothing", "everything", "thing", "things", "item", "items", "object", "objects", "workspace",
    "vibe", "angle", "level", "height", "length", "distance", "gap", "order", "horizon",
    "close", "interior", "exterior", "inside", "outside", "scenery", "landscape", "bathroom",
    "kitchen", "bedroom", "office", "foresight", "middle-ground",
}) | frozenset({
    # where in the frame ("the upper right corner", "the far left", "the right third", "the bottom-left")
    "upper", "lower", "far", "third", "thirds", "quarter", "quarters", "halves", "corners", "edges", "border",
    "margin", "left-hand", "right-hand", "top-left", "top-right", "bottom-left", "bottom-right", "upper-left",
    "upper-right", "lower-left", "lower-right",
}) | frozenset({
    # the medium or style of the picture ("in the cartoon", "in the style of"), a document the text cites
    # ("as described in the catalog", "the forecast"), a stretch of time ("an hour", "the weekend") or an
    # amount ("a great deal of"): none is a thing to draw
    "cartoon", "comic", "anime", "animation", "watercolor", "watercolour", "style", "manner", "fashion", "genre",
    "aesthetic", "medium", "photography", "film", "movie", "video", "catalog", "catalogue", "article", "story",
    "tale", "novel", "poem", "report", "forecast", "news", "description", "caption", "text", "prompt",
    "sentence", "paragraph", "chapter", "narrative", "manual", "instructions", "recipe", "hour", "hours",
    "minute", "minutes", "second", "seconds", "while", "instant", "week", "weekend", "weekends", "month",
    "months", "year", "years", "decade", "century", "era", "period", "season", "summer", "winter", "autumn",
    "holiday", "holidays", "dawn", "dusk", "noon", "midnight", "nighttime", "daytime", "deal", "amount",
    "plenty", "majority", "vicinity", "setup", "layout", "idea", "concept", "theme", "reason", "purpose",
    "chance", "attempt", "memory", "dream", "thought", "test", "trick", "stunt",
}) | frozenset({"former", "latter"})  # "the former ... the latter" name earlier things (references.py)

# Heads of settings: "in a sunny garden" says where the whole picture is, not where one object goes, so after
# SETTING_PREPOSITIONS such a chunk gets no region ("a park with no dogs" keeps the park as an object).
SETTINGS: frozenset[str] = frozenset({
    "garden", "park", "field", "meadow", "forest", "woods", "jungle", "desert", "city", "town",
    "countryside", "yard", "backyard", "studio", "classroom", "restaurant", "cafe", "library", "market",
    "stadium", "beach", "village", "street", "alley", "farm", "wilderness", "savanna",
})
SETTING_PREPOSITIONS: frozenset[str] = frozenset({"in", "at", "inside", "across", "through", "around", "into"})

# A COCO noun followed by one of these is a modifier ("a clock tower", "a pizza box").
COMPOUND_HEADS: frozenset[str] = frozenset({
    "tower", "box", "case", "seat", "lid", "holder", "rack", "shop", "store",
    "station", "slope", "slopes", "pole", "poles", "boot", "boots", "helmet", "jacket",
    "suit", "shelf", "cabinet", "counter", "top", "leg", "legs", "tail", "wheel", "wheels",
    "tire", "tires", "screen", "house", "food", "collar", "leash", "cage", "pen", "park", "court",
    "field", "track", "lane", "lot", "crossing", "trunk", "toy", "toys", "keys", "key", "handle",
    "cart", "team", "game", "shirt", "cap", "hat", "uniform", "player", "players",
    "juice", "peel", "tree", "trees", "slice", "slices", "crust", "sauce", "stop", "driver",
    "bag", "room", "area", "pad", "paste", "frame", "cone", "bowl", "stall", "stadium", "depot",
    "paper", "brush", "seat",
})

COLOURS: frozenset[str] = frozenset({
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "gray", "grey", "silver", "gold", "golden", "beige", "tan", "navy", "teal", "maroon",
    "violet", "turquoise", "cyan", "magenta", "dark", "light", "bright", "pale", "colorful",
    "colourful", "multicolored", "striped", "spotted",
})

# Size adjective -> (width factor, height factor) applied to the prior box.
SIZE_WORDS: dict[str, tuple[float, float]] = {
    "tiny": (0.55, 0.55), "small": (0.7, 0.7), "little": (0.7, 0.7), "mini": (0.6, 0.6),
    "miniature": (0.6, 0.6), "large": (1.3, 1.3), "big": (1.3, 1.3), "huge": (1.5, 1.5),
    "giant": (1.5, 1.5), "enormous": (1.5, 1.5), "massive": (1.5, 1.5), "tall": (1.0, 1.3),
    "long": (1.3, 1.0), "wide": (1.3, 1.0), "short": (1.0, 0.8), "narrow": (0.8, 1.0),
}

MATERIALS: frozenset[str] = frozenset({
    "wooden", "wood", "metal", "metallic", "plastic", "stone", "brick", "leather", "ceramic",
    "steel", "iron", "paper", "cardboard", "glass", "marble", "concrete", "wicker", "woven",
    "fluffy", "furry", "shiny", "old", "new", "young", "vintage", "modern", "empty", "full",
    "open", "closed", "broken", "wet", "dry", "clean", "dirty", "cute", "beautiful", "elegant",
    "sleek", "vibrant", "delicious", "fresh", "ripe", "sleeping", "happy",
})

# Materials that are also nouns ("a sheet of paper", "the glass").
MATERIAL_NOUNS: frozenset[str] = frozenset({"wood", "metal", "plastic", "stone", "brick",
                                            "leather", "steel", "iron", "paper", "cardboard",
                                            "glass", "marble", "concrete", "wicker"})

DETERMINERS: frozenset[str] = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "another", "some", "several", "many",
    "few", "both", "each", "every", "any", "no", "one", "two", "three", "four", "five", "six",
    "seven", "eight", "nine", "ten", "eleven", "twelve", "multiple", "numerous",
})

POSSESSIVES: frozenset[str] = frozenset({"my", "your", "his", "her", "its", "our", "their"})

# Function words: they end noun chunks and never name an object.
CLOSED_CLASS: frozenset[str] = frozenset({
    "of", "in", "on", "at", "to", "from", "with", "without", "by", "for", "near", "next",
    "beside", "besides", "above", "below", "under", "over", "behind", "between", "into", "onto",
    "across", "through", "around", "against", "along", "among", "beneath", "underneath", "atop",
    "inside", "outside", "toward", "towards", "upon", "within", "off", "up", "down", "out",
    "about", "and", "or", "but", "nor", "while", "as", "so", "yet", "because", "although",
    "though", "if", "when", "where", "which", "who", "whom", "whose", "than", "then", "it",
    "whether", "how", "what", "why",
    "they", "them", "he", "him", "she", "we", "us", "you", "i", "me", "is", "are", "was",
    "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did", "can",
    "could", "will", "would", "shall", "should", "may", "might", "must", "not", "very", "also",
    "too", "just", "only", "still", "even", "there", "here", "now", "nearby", "together",
    "slightly", "directly", "right", "left", "all", "into", "like", "via", "per", "s",
}) | POSSESSIVES | DETERMINERS

# Common verbs in scene descriptions (base and third-person forms). -ing/-ed/-ly words are
# recognised by suffix; this list catches the "-s" forms that look like plural nouns.
VERBS: frozenset[str] = frozenset({
    "stand", "stands", "sit", "sits", "lie", "lies", "lay", "lays", "rest", "rests", "hang",
    "hangs", "float", "floats", "fly", "flies", "hover", "hovers", "look", "looks", "appear",
    "appears", "seem", "seems", "grow", "grows", "hold", "holds", "carry", "carries", "wear",
    "wears", "ride", "rides", "watch", "watches", "wait", "waits", "lean", "leans", "perch",
    "perches", "place", "put", "puts", "set", "sets", "park", "parks", "run", "runs", "walk",
    "walks", "jump", "jumps", "play", "plays", "eat", "eats", "drink", "drinks", "sleep",
    "sleeps", "swim", "swims", "graze", "grazes", "stare", "stares", "gaze", "gazes", "face",
    "faces", "point", "points", "loom", "looms", "tower", "towers", "overlook", "overlooks",
    "shine", "shines", "glow", "glows", "reflect", "reflects", "contain", "contains", "show",
    "shows", "feature", "features", "depict", "depicts", "include", "includes", "surround",
    "surrounds", "cover", "covers", "fill", "fills", "stretch", "stretches", "rise", "rises",
    "peek", "peeks", "stick", "sticks", "reach", "reaches", "extend", "extends", "lead",
    "leads", "flow", "flows", "cross", "crosses", "pass", "passes", "smile", "smiles", "make",
    "makes", "take", "takes", "give", "gives", "go", "goes", "come", "comes", "get", "gets",
    "keep", "keeps", "remain", "remains", "stay", "stays", "live", "lives", "move", "moves",
    "turn", "turns", "open", "opens", "block", "blocks", "occupy", "occupies", "dominate",
    "dominates", "await", "awaits", "greet", "greets", "chase", "chases", "follow", "follows",
    "sniff", "sniffs", "bark", "barks", "sail", "sails", "soar", "soars", "roam", "roams",
    "sat", "stood", "lay", "hung", "flew", "held", "rode", "ran", "sprang", "swam", "ate",
    "drank", "slept", "grew", "saw", "sees", "see", "lit", "shone", "fell", "falls", "fall",
    "stands", "leaning", "shown", "seen", "blown", "grown", "thrown", "drawn", "unfold", "unfolds",
})

ING_ED_EXCEPTIONS: frozenset[str] = frozenset({
    "bed", "red", "shed", "sled", "seabed", "flowerbed", "thing", "king", "ring", "wing",
    "string", "spring", "swing", "sibling", "ceiling", "building", "painting", "drawing",
    "clothing", "railing", "ping", "sing", "sting", "wedding", "pudding", "evening", "morning",
    "icing", "awning", "sapling", "duckling", "seedling", "bedding", "stuffing",
})

LY_EXCEPTIONS: frozenset[str] = frozenset({
    "family", "lily", "fly", "jelly", "belly", "bully", "ally", "rally", "holly", "trolley",
    "butterfly", "dragonfly", "firefly", "pully", "gully", "jolly",
})

# Typical normalised (w, h) per category on COCO-like 4:3 images: soft priors started from the median boxes
# of LayoutGPT's NSR-1K (COCO-derived) and hand-adjusted (large objects smaller, categories without
# enough boxes, such as person, hand-set); the solver shrinks them further to fit the relations.
SIZE_PRIORS: dict[str, tuple[float, float]] = {
    "person": (0.30, 0.60), "bicycle": (0.32, 0.33), "car": (0.25, 0.16),
    "motorcycle": (0.37, 0.33), "airplane": (0.37, 0.14), "bus": (0.38, 0.27),
    "train": (0.48, 0.23), "truck": (0.28, 0.24), "boat": (0.33, 0.24),
    "traffic light": (0.10, 0.20), "fire hydrant": (0.19, 0.35), "stop sign": (0.20, 0.20),
    "parking meter": (0.30, 0.44), "bench": (0.47, 0.38), "bird": (0.21, 0.22),
    "cat": (0.47, 0.39), "dog": (0.42, 0.40), "horse": (0.30, 0.35), "sheep": (0.27, 0.25),
    "cow": (0.27, 0.25), "elephant": (0.30, 0.37), "bear": (0.25, 0.25), "zebra": (0.29, 0.24),
    "giraffe": (0.21, 0.40), "backpack": (0.30, 0.35), "umbrella": (0.50, 0.32),
    "handbag": (0.35, 0.35), "tie": (0.10, 0.30), "suitcase": (0.45, 0.38),
    "frisbee": (0.20, 0.14), "skis": (0.15, 0.50), "snowboard": (0.20, 0.45),
    "sports ball": (0.14, 0.16), "kite": (0.18, 0.29), "baseball bat": (0.10, 0.40),
    "baseball glove": (0.16, 0.18), "skateboard": (0.38, 0.25), "surfboard": (0.44, 0.23),
    "tennis racket": (0.20, 0.35), "bottle": (0.15, 0.38), "wine glass": (0.15, 0.40),
    "cup": (0.20, 0.26), "fork": (0.12, 0.40), "knife": (0.30, 0.20), "spoon": (0.12, 0.35),
    "bowl": (0.35, 0.23), "banana": (0.39, 0.29), "apple": (0.22, 0.24), "sandwich": (0.40, 0.33),
    "orange": (0.25, 0.25), "broccoli": (0.20, 0.19), "carrot": (0.26, 0.20),
    "hot dog": (0.42, 0.35), "pizza": (0.50, 0.38), "donut": (0.30, 0.29), "cake": (0.42, 0.44),
    "chair": (0.24, 0.32), "couch": (0.60, 0.35), "potted plant": (0.27, 0.30),
    "bed": (0.60, 0.40), "dining table": (0.60, 0.40), "toilet": (0.30, 0.40), "tv": (0.36, 0.29),
    "laptop": (0.45, 0.40), "mouse": (0.20, 0.18), "remote": (0.25, 0.20),
    "keyboard": (0.50, 0.27), "cell phone": (0.15, 0.25), "microwave": (0.32, 0.22),
    "oven": (0.35, 0.40), "toaster": (0.25, 0.20), "sink": (0.35, 0.25),
    "refrigerator": (0.37, 0.58), "book": (0.30, 0.22), "clock": (0.15, 0.17),
    "vase": (0.21, 0.29), "scissors": (0.25, 0.23), "teddy bear": (0.35, 0.43),
    "hair drier": (0.20, 0.28), "toothbrush": (0.08, 0.30),
}
GLOBAL_PRIOR: tuple[float, float] = (0.35, 0.31)
PRIOR_ASPECT: float = 4.0 / 3.0  # pixel aspect of the images the priors were measured on
# Geometric shapes: known nouns outside COCO, found with or without a determiner ("red circle left of blue
# square"), unlike other open-vocabulary nouns, which need one ("a lighthouse").
GEOMETRIC_SHAPES: frozenset[str] = frozenset({
    "circle", "square", "triangle", "star", "ring", "dot", "disc", "disk", "heart", "diamond", "hexagon",
    "pentagon", "octagon", "cube", "sphere", "pyramid",
})
# Nouns outside COCO whose outline is as wide as it is tall: they get the global prior's area in a square box
# (in pixels) instead of the prior's landscape box, so "a red circle" is not planned 1.5 times wider than tall.
SQUARE_NOUNS: frozenset[str] = GEOMETRIC_SHAPES | frozenset({"globe", "coin", "button", "tile", "block"})


def plural(word: str) -> str:
    """Regular English plural of a lower-case noun (irregular ones come from the table)."""
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def singular(word: str) -> str:
    """Best-effort singular of an unknown lower-case noun ("lighthouses" -> "lighthouse")."""
    for sing, plur in IRREGULAR_PLURALS.items():
        if word == plur and sing != plur:
            return sing
    if word in PAIR_NOUNS or len(word) <= 3 or word.endswith(("ss", "us", "is", "ous")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def looks_plural(word: str) -> bool:
    """Whether an unknown noun looks plural (used only for open-vocabulary heads)."""
    return singular(word) != word and word not in PAIR_NOUNS


def _build_noun_forms() -> dict[tuple[str, ...], tuple[str, str, bool]]:
    """Token tuple -> (category, singular noun, is_plural) for every name, synonym and plural."""
    forms: dict[tuple[str, ...], tuple[str, str, bool]] = {}
    entries = [(name, name) for name in COCO80] + list(SYNONYMS.items())
    for name, category in entries:
        words = name.split()
        head_plural = plural(words[-1])
        variants = [(name, False), (" ".join(words[:-1] + [head_plural]), True)]
        for text, is_plural in variants:
            if name in PAIR_NOUNS or name == "skis":
                is_plural = False
            joined_forms = {tuple(text.split())}
            if len(words) > 1:
                joined_forms.add(("-".join(text.split()),))
                joined_forms.add(("".join(text.split()),))
            for key in joined_forms:
                forms.setdefault(key, (category, name, is_plural))
    forms[("people",)] = ("person", "person", True)
    forms[("cattle",)] = ("cow", "cow", True)
    return forms


NOUN_FORMS: dict[tuple[str, ...], tuple[str, str, bool]] = _build_noun_forms()
MAX_NAME_TOKENS: int = max(len(key) for key in NOUN_FORMS)
# Lexicon nouns that are more often adjectives before another word ("an orange cat").
ADJECTIVE_NOUNS: frozenset[str] = frozenset({"orange", "glass", "ski", "baseball", "football",
                                             "plant", "table", "ball", "phone"})
