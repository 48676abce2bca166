"""Word lists the local planner reads a brief with. Plain data: lists and dicts keep their order, so every
lookup is deterministic (no set iteration)."""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    """A word list written as one string."""
    return frozenset(text.split())


# Standard English stopwords (RAKE splits candidate phrases at these) plus the words a spoken brief is full of.
STOPWORDS = words("""a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll
she's should shouldn't so some such than that that's the their theirs them themselves then there there's these
they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
we've were weren't what what's when when's where where's which while who who's whom why why's with won't would
wouldn't you you'd you'll you're you've your yours yourself yourselves
um uh erm er ah hmm mm okay ok yeah yes like just really actually basically literally maybe kind sort thing things
stuff something anything everything want wanna gonna going go get got make making made need needs think guess know
mean say said let lets us guys folks pretty quite much many lot lots bit little way well also even still one two
video videos clip piece content show shows showing see seeing look looks looking feel feels feeling using use
start starts end ends open opens first then next finally last after that's probably definitely sure right
will shall may might must gotta ll ve re
""")

FILLER_PHRASES = (
    "you know what i mean",
    "you know",
    "i mean",
    "kind of like",
    "sort of like",
    "or something like that",
    "or something",
    "or whatever",
    "so yeah",
    "okay so",
    "ok so",
    "alright so",
    "all right so",
    "um",
    "uh",
    "umm",
    "uhh",
    "erm",
    "er",
    "ah",
    "hmm",
    "mm",
    "basically",
    "literally",
    "actually",
)

# Mood words a speaker uses for the vibe, in the order they are listed here when two tie.
MOOD_WORDS = (
    "cozy",
    "calm",
    "relaxed",
    "relaxing",
    "chill",
    "peaceful",
    "serene",
    "energetic",
    "upbeat",
    "hype",
    "fun",
    "playful",
    "bold",
    "dramatic",
    "moody",
    "dark",
    "gritty",
    "elegant",
    "luxurious",
    "premium",
    "minimal",
    "clean",
    "fresh",
    "nostalgic",
    "retro",
    "vintage",
    "dreamy",
    "whimsical",
    "epic",
    "intense",
    "inspiring",
    "emotional",
    "heartfelt",
    "funny",
    "quirky",
    "quiet",
    "raw",
    "authentic",
    "professional",
    "friendly",
    "modern",
    "sleek",
    "edgy",
    "bright",
    "cheerful",
    "joyful",
    "mysterious",
    "romantic",
    "gentle",
    "lively",
    "adventurous",
    "urgent",
    "confident",
    "sophisticated",
    "rustic",
    "earthy",
    "futuristic",
    "punchy",
    "lighthearted",
    "wholesome",
    "warm",
    "exciting",
    "hopeful",
    "uplifting",
    "serious",
    "sincere",
    "tense",
)

# Vibe -> a palette of colour names (shared.colors) when the speaker named no colours.
VIBE_PALETTES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("cozy", "warm", "rustic", "earthy", "heartfelt", "wholesome", "romantic"),
        ("amber", "cream", "chocolate"),
    ),
    (
        ("energetic", "upbeat", "hype", "fun", "playful", "bold", "punchy", "exciting", "cheerful", "joyful"),
        ("coral", "sunflower yellow", "electric blue"),
    ),
    (
        ("calm", "relaxed", "relaxing", "chill", "peaceful", "serene", "gentle", "quiet"),
        ("sage", "sand", "sky blue"),
    ),
    (
        ("dramatic", "moody", "dark", "gritty", "intense", "mysterious", "tense", "edgy", "epic"),
        ("charcoal", "deep teal", "burgundy"),
    ),
    (("elegant", "luxurious", "premium", "sophisticated", "sleek"), ("black", "gold", "ivory")),
    (("minimal", "clean", "fresh", "modern", "professional"), ("off white", "light grey", "mint")),
    (("nostalgic", "retro", "vintage"), ("mustard", "teal", "burnt orange")),
    (("dreamy", "whimsical", "hopeful", "uplifting", "inspiring"), ("lavender", "blush pink", "powder blue")),
)
NEUTRAL_PALETTE = ("charcoal", "off white", "slate blue")

# Intent: cue words -> the intent they signal (first listed wins a tie).
INTENT_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "sell",
        (
            "sell",
            "selling",
            "sales",
            "buy",
            "buying",
            "purchase",
            "order",
            "shop",
            "promote",
            "promoting",
            "promotion",
            "launch",
            "launching",
            "product",
            "discount",
            "offer",
            "sign up",
            "signups",
            "conversions",
            "customers",
            "ad",
            "advert",
            "commercial",
            "brand",
            "our new",
            "link in bio",
            "new flavor",
            "new flavour",
            "new product",
            "available now",
            "try it",
            "free trial",
            "for free",
            "book now",
            "book a",
            "appointment",
            "shop now",
        ),
    ),
    (
        "educate",
        (
            "teach",
            "teaching",
            "explain",
            "explaining",
            "learn",
            "learning",
            "tutorial",
            "explainer",
            "how to",
            "step by step",
            "tips",
            "guide",
            "lesson",
            "educate",
            "educational",
            "show people how",
            "recipe",
            "recipes",
            "walkthrough",
            "at home",
            "diy",
        ),
    ),
    ("entertain", ("funny", "laugh", "comedy", "entertain", "entertaining", "joke", "prank", "meme", "skit")),
    (
        "inspire",
        (
            "inspire",
            "inspiring",
            "motivate",
            "motivating",
            "motivation",
            "dream",
            "journey",
            "transformation",
        ),
    ),
    (
        "document",
        (
            "behind the scenes",
            "document",
            "documentary",
            "recap",
            "day in the life",
            "event",
            "vlog",
            "diary",
        ),
    ),
    (
        "raise awareness",
        ("awareness", "campaign", "cause", "donate", "charity", "petition", "spread the word"),
    ),
)

# Format words -> the content_style written into the context (longest phrases first).
STYLE_CUES: tuple[tuple[str, str], ...] = (
    ("behind the scenes", "behind-the-scenes"),
    ("day in the life", "day-in-the-life"),
    ("product demo", "product demo"),
    ("demo", "product demo"),
    ("unboxing", "unboxing"),
    ("step by step", "tutorial"),
    ("tutorial", "tutorial"),
    ("how to", "how-to"),
    ("recipe", "recipe"),
    ("recipes", "recipe"),
    ("review", "review"),
    ("explainer", "explainer"),
    ("vlog", "vlog"),
    ("documentary", "documentary"),
    ("interview", "interview"),
    ("testimonial", "testimonial"),
    ("montage", "montage"),
    ("commercial", "commercial"),
    ("advert", "ad"),
    ("ad", "ad"),
    ("trailer", "trailer"),
    ("teaser", "teaser"),
    ("music video", "music video"),
    ("lookbook", "lookbook"),
    ("walkthrough", "walkthrough"),
    ("case study", "case study"),
    ("announcement", "announcement"),
    ("story", "short-form story"),
)
STYLE_FOR_INTENT = {
    "sell": "product demo",
    "educate": "explainer",
    "entertain": "short-form story",
    "inspire": "short-form story",
    "document": "documentary",
    "raise awareness": "explainer",
}

# Platform spellings (ASR writes "tick tock", "you tube") -> the platform's name. Most specific first.
PLATFORMS: tuple[tuple[str, str], ...] = (
    ("youtube shorts", "YouTube Shorts"),
    ("you tube shorts", "YouTube Shorts"),
    ("instagram reels", "Instagram Reels"),
    ("instagram reel", "Instagram Reels"),
    ("insta reel", "Instagram Reels"),
    ("insta reels", "Instagram Reels"),
    ("tiktok", "TikTok"),
    ("tik tok", "TikTok"),
    ("tick tock", "TikTok"),
    ("reels", "Instagram Reels"),
    ("instagram", "Instagram"),
    ("insta gram", "Instagram"),
    ("youtube", "YouTube"),
    ("you tube", "YouTube"),
    ("shorts", "YouTube Shorts"),
    ("linkedin", "LinkedIn"),
    ("linked in", "LinkedIn"),
    ("facebook", "Facebook"),
    ("twitter", "X (Twitter)"),
    ("snapchat", "Snapchat"),
    ("pinterest", "Pinterest"),
    ("twitch", "Twitch"),
)
PLATFORM_NAMES = tuple(p for p, _ in PLATFORMS)

# Sound words -> how the context lists them.
SOUND_CUES: tuple[tuple[str, str], ...] = (
    ("lo fi", "lo-fi beats"),
    ("lofi", "lo-fi beats"),
    ("low fi", "lo-fi beats"),
    ("hip hop", "hip hop"),
    ("acoustic guitar", "acoustic guitar"),
    ("acoustic", "acoustic"),
    ("piano", "piano"),
    ("jazz", "jazz"),
    ("orchestral", "orchestral score"),
    ("cinematic score", "cinematic score"),
    ("electronic", "electronic"),
    ("edm", "EDM"),
    ("synthwave", "synthwave"),
    ("synth", "synth"),
    ("ambient", "ambient"),
    ("rock", "rock"),
    ("indie", "indie"),
    ("folk", "folk"),
    ("classical", "classical"),
    ("house music", "house"),
    ("trap", "trap beat"),
    ("drum and bass", "drum and bass"),
    ("strings", "strings"),
    ("voiceover", "voiceover"),
    ("voice over", "voiceover"),
    ("narration", "voiceover narration"),
    ("narrator", "voiceover narration"),
    ("sound effects", "sound effects"),
    ("asmr", "ASMR sound"),
    ("natural sound", "natural sound"),
    ("ambient sound", "ambient sound"),
    ("no music", "no music"),
    ("trending audio", "trending audio"),
    ("trending sound", "trending audio"),
)
SOUND_FOR_VIBE: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("energetic", "upbeat", "hype", "fun", "playful", "bold", "punchy", "exciting"),
        ("upbeat music bed", "voiceover"),
    ),
    (
        ("calm", "relaxed", "relaxing", "chill", "peaceful", "serene", "cozy", "gentle", "quiet"),
        ("soft ambient music", "voiceover"),
    ),
    (
        ("dramatic", "moody", "dark", "epic", "intense", "tense", "mysterious"),
        ("cinematic score", "voiceover"),
    ),
)
NEUTRAL_SOUND = ("light background music", "voiceover")

# People nouns: "for busy parents" names an audience.
AUDIENCE_NOUNS = (
    "people",
    "parents",
    "moms",
    "mums",
    "dads",
    "students",
    "beginners",
    "developers",
    "founders",
    "owners",
    "professionals",
    "teens",
    "teenagers",
    "kids",
    "children",
    "families",
    "gamers",
    "runners",
    "travelers",
    "travellers",
    "millennials",
    "gen z",
    "women",
    "men",
    "fans",
    "lovers",
    "enthusiasts",
    "creators",
    "marketers",
    "cooks",
    "chefs",
    "readers",
    "viewers",
    "customers",
    "users",
    "buyers",
    "athletes",
    "designers",
    "engineers",
    "nurses",
    "teachers",
    "homeowners",
    "entrepreneurs",
    "adults",
    "seniors",
    "retirees",
    "shoppers",
    "musicians",
    "artists",
    "drinkers",
    "commuters",
    "workers",
    "employees",
    "managers",
    "investors",
    "hikers",
    "cyclists",
    "skaters",
    "dancers",
    "foodies",
    "couples",
    "singles",
    "pet owners",
    "dog owners",
    "cat owners",
    "audience",
    "crowd",
    "community",
    "anyone",
    "everyone",
    "twenties",
    "thirties",
    "year olds",
)

POSITIVE = words("""good great love loved loves lovely amazing awesome beautiful best better brilliant calm cheerful clean cool cozy
delicious delight delightful easy elegant enjoy enjoyable excellent excited exciting fantastic fast fresh friendly fun
glad gorgeous happy healthy hope hopeful impressive incredible inspiring joy joyful kind laugh nice perfect
playful pleasant proud relaxed relaxing satisfying simple smile smooth special stunning success successful sweet
thrilled tasty uplifting vibrant warm welcoming win wonderful wow yummy bright premium favorite favourite""")
NEGATIVE = words("""bad boring awful terrible hate hated hates ugly sad angry annoying annoyed broken cheap confusing difficult
disappointing dull expensive fail failed failure frustrating frustrated hard horrible lonely lost mess messy negative
painful poor problem problems scary sick slow stress stressed stressful struggle struggling tired tragic upset
worried worry worse worst wrong gross bland stale""")
NEGATIONS = words("not no never don't doesn't didn't isn't wasn't aren't won't can't cannot without")
INTENSIFIERS = words("very really super so extremely incredibly totally absolutely")

SMALL_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "a": 1,
    "an": 1,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}

# Action verbs (base form) a shot description uses: "a runner sprints past" is written "a runner sprinting past"
# in a prompt. Only these are turned into participles, so a noun that ends in -s ("shifts", "drops") is left be.
ACTION_VERBS = words("""
apply arrive bake bite blink blow bounce brew brush burst carry catch celebrate charge cheer chew chop clap climb
clink close comb cook cool crash cross cry cut dance dig dive do drag draw drift drink drip drive drop dry eat
explode fall fill flip float flow fly fold frown froth get give glide glow grab grin grind hand hang high-five hit
hold hop hug jog jump kick kiss knead land laugh lean leave lift light look melt mix nod open pack paint pass pat
pause peel pick place play point pop pour press pull push put race raise reach read rest ride rise roll rub run
scroll serve set shake share shine shout sing sip sit skate ski slam slide slice smell smile snap spin splash
spray sprint squeeze stack stand stare step stir stop stretch strain surf swim swing swipe take talk tap taste
tear throw tilt toss tumble turn type unbox unfold unwrap wake walk wash watch wave whisk wink wipe wrap write
yawn zoom
""")

# Looks a speaker can ask for (longest first where one contains another). Each maps to the visual-style arm
# it is (services/brief/levers.py), or to None when it is a look of its own (neon, film noir, watercolour).
# `ambiguous` ones count only in a sentence about the look ("the look is neon"), as they also name things
# ("neon signs", "natural light through the window").
STYLE_TERMS: tuple[tuple[str, str | None, bool], ...] = (
    ("2d animated", "animated", False),
    ("2d animation", "animated", False),
    ("3d animated", "animated", False),
    ("animated", "animated", False),
    ("animation", "animated", False),
    ("cartoon", "animated", False),
    ("anime", "animated", False),
    ("motion graphics", "animated", False),
    ("documentary", "documentary", False),
    ("handheld", "documentary", True),
    ("minimalist", "minimalist", False),
    ("minimal", "minimalist", True),
    ("cinematic", "cinematic", True),
    ("film noir", None, False),
    ("noir", None, False),
    ("black and white", None, True),
    ("high contrast", None, True),
    ("vhs", None, False),
    ("camcorder", None, False),
    ("super 8", None, False),
    ("8mm", None, False),
    ("16mm", None, False),
    ("35mm", None, False),
    ("polaroid", None, False),
    ("film grain", None, False),
    ("grainy", None, True),
    ("retro", None, True),
    ("vintage", None, True),
    ("watercolor", None, False),
    ("watercolour", None, False),
    ("hand-drawn", None, False),
    ("hand drawn", None, False),
    ("illustrated", None, False),
    ("claymation", None, False),
    ("stop-motion", None, False),
    ("stop motion", None, False),
    ("pixel art", None, False),
    ("low poly", None, False),
    ("isometric", None, False),
    ("cyberpunk", None, False),
    ("vaporwave", None, False),
    ("neon", None, True),
    ("pastel", None, True),
    ("flat colours", None, True),
    ("flat colors", None, True),
    ("white space", None, True),
    ("natural light", None, True),
    ("soft daylight", None, True),
    ("daylight", None, True),
    ("golden hour", None, True),
    ("studio lighting", None, True),
)
# Grade words -> the colour-treatment arm they are.
GRADE_TERMS: tuple[tuple[str, str], ...] = (
    ("muted", "muted"),
    ("desaturated", "muted"),
    ("washed out", "muted"),
    ("vibrant", "vibrant"),
    ("saturated", "vibrant"),
    ("punchy colou?rs", "vibrant"),
    ("warm tones", "warm"),
    ("warm colou?rs", "warm"),
    ("warm grade", "warm"),
    ("cool tones", "cool"),
    ("cool colou?rs", "cool"),
    ("cool grade", "cool"),
)
