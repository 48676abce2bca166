"""The embedded planner: reads a spoken brief with word lists, RAKE keyphrases and a sentiment lexicon, and
writes the scenes in the order the speaker described them. Deterministic (same transcript, same plan), no
network, no randomness: every choice is a lookup or a cycle over the scene index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyreel.services.brief.levers import resolve_variant
from storyreel.services.brief.lexicon import (
    AUDIENCE_NOUNS,
    INTENT_CUES,
    MOOD_WORDS,
    NEUTRAL_PALETTE,
    NEUTRAL_SOUND,
    PLATFORM_NAMES,
    PLATFORMS,
    SMALL_NUMBERS,
    SOUND_CUES,
    SOUND_FOR_VIBE,
    STOPWORDS,
    STYLE_CUES,
    STYLE_FOR_INTENT,
    TENS,
    VIBE_PALETTES,
    words,
)
from storyreel.services.brief.textkit import (
    Unit,
    clauses,
    is_duration_or_number,
    keyphrases,
    sentences,
    sentiment,
    strip_durations,
    target_duration,
    tokens,
)
from storyreel.services.brief.vocab import CTA_CUE, CTA_PHRASE, planned_duration, statistic_in
from storyreel.shared import colors
from storyreel.shared.contracts import CreativeContext, Frame, Scene, ScenePlan, Transcript

# --------------------------------------------------------------------------- cues
_HOOK = re.compile(
    r"\b(?:open(?:s|ing)? (?:with|on|up with)|start(?:s|ing)? (?:with|on|off)|begin(?:s|ning)? (?:with|on)"
    r"|kick(?:s|ing)? off|first (?:shot|scene|frame|thing)|opening (?:shot|scene|line)|hook|cold open)\b"
)
_META = re.compile(
    r"\b(?:i want|we want|i'd like|i would like|we need|(?:video|short|reel|ad|tiktok|clip) (?:about|on|for)"
    r"|(?:it'?s|it is|this is) (?:all )?about|should (?:be|feel|look|sound|have)|feel(?:s)?|vibe|mood|tone"
    r"|audience|aimed at|made for|geared (?:to|toward|towards)|target(?:ing)?|seconds? long|minutes? long|music"
    r"|soundtrack|song|colou?rs?|palette|platform|posting|keep it|call it|title|brief"
    r"|(?:it'?s|it is|this is|this one is|that'?s|that is|we'?re|we are) (?:mainly |mostly |primarily |made |aimed )?for"
    r"|tiktok|tik tok|youtube|you tube|instagram|reels|shorts|linkedin)\b"
)
_NOT_ELEMENT_START = words("say tell ask make do have get follow subscribe go put give take keep try")
_GERUND_LEAD = re.compile(r"^(?:making|doing|creating|building|using|cooking|brewing|how to \w+)\s+")
_ACTION = re.compile(
    r"\b(?:show(?:s|ing)?|then|next|after that|cut(?:s)? to|we see|you see|shots? of|close[- ]?up|pan|zoom"
    r"|scene|montage|film|reveal(?:s|ing)?|pour(?:s|ing)?|walk(?:s|ing)?|hold(?:s|ing)?"
    r"|cut(?:ting)?|mix(?:ing)?|grind(?:ing)?|taste|tasting|smil(?:e|es|ing))\b"
)
_LEAD = re.compile(
    r"^(?:(?:then|and then|after that|afterwards|next(?! (?:morning|day|week|time))|finally|lastly|first|and|so"
    r"|also|maybe|please)\s+)*"
    r"(?:(?:i|we) (?:want to|wanna|would|will|can|should|could|need to|'d like to|would like to)\s+)?"
    r"(?:(?:i|we|you) (?:want|see|show|get|have|film|shoot|'ll see|will see)\s+)?"
    r"(?:(?:open(?:s|ing)?|start(?:s|ing)?|begin(?:s|ning)?|kick(?:s|ing)? off|end(?:s|ing)?|clos(?:e|es|ing)"
    r"|finish(?:es|ing)?|wrap(?:s|ping)? up) (?:it |the video )?(?:with|on|up with|off with)?\s*)?"
    r"(?:show(?:s|ing)?|cut to|we see|you see|there'?s|there is|let'?s see|film|shoot|reveal)?\s*"
    r"(?:(?:a|an|the|our|my) (?:[\w'-]+ ){0,2}(?:video|reel|short|tiktok|clip|ad|post) (?:showing|of|about|featuring|with)\s+)?"
)
_CAMERA = re.compile(
    r"\b(extreme close[- ]?up|close[- ]?up|wide shot|wide|aerial|drone shot|overhead|top[- ]down"
    r"|slow motion|time[- ]?lapse|pov|point of view|tracking shot|handheld|macro)\b(?: shots?)?(?: of)?"
)
_MOVE = re.compile(
    r"\b(zoom(?:s|ing)? in|zoom(?:s|ing)? out|pan(?:s|ning)? (?:left|right|across|over)|push(?:es|ing)? in|pull(?:s|ing)? (?:back|out)|orbit|tilt(?:s|ing)? (?:up|down))\b"
)
_META_TAIL = re.compile(
    r"\s+\b(?:with )?(?:some |a )?(?:\w+ ){0,2}(?:music|soundtrack|vibe|mood|colou?rs?|palette)\b.*$"
)
_NEGATIVE_ASK = re.compile(
    r"\b(?:no|avoid|without|don'?t (?:want|show|use|need)|do not (?:want|show|use)|never)\s+(.+)"
)
_PLACES = (
    r"home|kitchen|cafe|coffee shop|studio|office|gym|park|street|beach|salon|shop|store|bakery|restaurant|bar"
    r"|garden|city|forest|mountains?|classroom|lab|warehouse|car|bedroom|living room|backyard|farm|market|school"
)
_SPOTS = r"counter|window|desk|table|stage|sofa|couch|bench|doorway|fridge|oven|stove"
# Where a shot takes place: "by the window", "in the kitchen", "at home".
_SETTING = re.compile(
    rf"\b((?:at|in|inside|on|by|near|behind|outside) (?:the |a |an |our |my |their )?(?:[a-z]+ )?(?:{_PLACES}|{_SPOTS}))\b"
)
_PLACE = re.compile(
    rf"\b((?:at|in|inside|outside) (?:the |a |an |our |my |their )?(?:[a-z]+ )?(?:{_PLACES}))\b"
)
_TITLE = re.compile(r"\b(?:call(?:ed)? it|titled?|title is|name(?:d)? it)\s+(.+)")

_SUBJECT_CUES = (
    re.compile(
        r"\b(?:video|short|reel|clip|ad|commercial|spot|tiktok|film|story|piece|tutorial|vlog|explainer|demo"
        r"|review|post) (?:about|on|of|showing|featuring|introducing|explaining|promoting|showcasing)\s+(.+)"
    ),
    re.compile(r"\b(?:it'?s|it is|this is|this one is) (?:all )?about\s+(.+)"),
    re.compile(
        r"\b(?:promote|promoting|launch|launching|introduce|introducing|showcase|showcasing|advertise"
        r"|advertising|sell|selling|highlight|highlighting)\s+(.+)"
    ),
    re.compile(
        r"\b(?:how to|teach (?:people|viewers|you|them) (?:how )?to|explain(?:ing)? how to)\s+\w+\s+(.+)"
    ),
    re.compile(
        r"\b(?:video|short|reel|clip|ad|commercial|spot|tiktok|post) for (?:(?:our|my|the|a|an|this) )?(?!a |an )(.+)"
    ),
    re.compile(r"\babout\s+(.+)"),
)
_AUDIENCE_CUE = re.compile(
    r"\b(?:target(?:ing)?|aimed at|aim(?:ing)? at|geared (?:to|toward|towards)|made for|speaking to"
    r"|(?:target )?audience (?:is|are|would be|will be|of)|it'?s for|this is for|mainly for|mostly for"
    r"|primarily for|for an audience of)\s+(.+)"
)
_AUDIENCE_FOR = re.compile(
    r"\bfor ((?:[a-z']+ ){0,3}?(?:" + "|".join(re.escape(n) for n in AUDIENCE_NOUNS) + r"))\b(.*)"
)
# "young professionals who want energy": a description of the audience even with its "for" lost (ASR).
_AUDIENCE_WHO = re.compile(
    r"\b((?:[a-z']+ ){0,2}?(?:"
    + "|".join(re.escape(n) for n in AUDIENCE_NOUNS if n not in ("people", "anyone", "everyone", "crowd"))
    + r") who\b.*)"
)
_VISUAL_CUE = re.compile(
    r"\b(?:show(?:s|ing)?|shots? of|close[- ]?ups? of|footage of|b[- ]?roll of|featuring|we see|you see"
    r"|include|including|lots of|images of|clips of|cut to|reveal(?:s|ing)?|zoom(?:s)? in on"
    r"|pan(?:s)? (?:across|over)|open(?:s)? (?:with|on)|end(?:s)? (?:with|on)|start(?:s)? with)\s+(.+)"
)

# Words that end a noun phrase cut out of running speech.
_BOUNDARY = words("""for to that which so because but where when while then should would will can could is are was were it's its
i we you they he she aimed targeting like using on at in from by with um uh okay also i'd we'd please maybe
probably really just who after before until as if or than""")
_DETERMINERS = words("a an the some this that these those my our your their its his her any")
_PRONOUN_AFTER_AND = words("we i you they it then make show have end finally also")
_UNITS = ("second", "seconds", "sec", "secs", "minute", "minutes", "min", "mins")
_KEYWORD_STOP = (
    *_UNITS,
    *SMALL_NUMBERS,
    *TENS,
    *(w for p in PLATFORM_NAMES for w in p.split()),
    "please",
    "colors",
    "colours",
    "color",
    "colour",
    "palette",
    "vibe",
    "mood",
    "tone",
    "style",
    "music",
    "audience",
    "link",
    "bio",
    "call",
    "action",
    "shot",
    "shots",
    "scene",
    "scenes",
    "close",
    "camera",
    "frame",
    "long",
    "short",
    "shorts",
    "reel",
    "reels",
    "short-form",
    "hook",
    "cta",
    "hundred",
    "half",
)

# --------------------------------------------------------------------------- variant vocabulary
LOOK = {
    "cinematic": "cinematic, anamorphic 35mm film look, shallow depth of field, dramatic lighting",
    "documentary": "documentary style, natural light, handheld realism, authentic candid moment",
    "animated": "2D animated illustration, clean vector shapes, bold outlines, flat shading",
    "minimalist": "minimalist composition, generous negative space, clean backdrop, soft even light",
}
GRADE = {
    "warm": "warm color grade, golden highlights",
    "cool": "cool color grade, teal and blue shadows",
    "vibrant": "vibrant saturated colors, punchy contrast",
    "muted": "muted desaturated grade, soft contrast",
}
STYLE_NEGATIVE = {
    "cinematic": "cartoon, flat illustration",
    "documentary": "cartoon, staged studio look",
    "animated": "photorealistic, photo grain",
    "minimalist": "cluttered background, busy composition",
}
GRADE_NEGATIVE = {
    "warm": "cold blue cast",
    "cool": "orange cast",
    "vibrant": "washed out, dull colors",
    "muted": "oversaturated, neon colors",
}
BASE_NEGATIVE = (
    "blurry, low quality, distorted, deformed hands, extra limbs, watermark, garbled text, jpeg artifacts"
)
MOVES = {
    "cinematic": ("slow push-in", "tracking right", "crane up", "slow orbit left", "dolly out"),
    "documentary": ("handheld follow right", "locked-off static", "handheld push-in", "pan left"),
    "animated": ("zoom in", "parallax pan right", "pull-out", "tilt up"),
    "minimalist": ("locked-off static", "slow pan right", "slow push-in", "static top-down"),
}
SHOTS = ("medium shot", "close-up", "wide shot", "medium close-up")
SHOT_LADDER = (
    "extreme wide shot",
    "wide shot",
    "medium shot",
    "medium close-up",
    "close-up",
    "extreme close-up",
)
TRANSITIONS = {
    "fast": ("hard cut", "whip pan", "jump cut", "match cut"),
    "balanced": ("cut", "match cut", "dissolve", "cut"),
    "slow": ("cross-dissolve", "slow fade", "dissolve", "match cut"),
}
ENDING = {"fast": "hard cut to black", "balanced": "fade to end card", "slow": "slow fade to black"}
# average shot length (how often it cuts); the seconds per scene are creative_vocab.BASE_SECONDS
SHOT_SECONDS = {"fast": 1.2, "balanced": 2.5, "slow": 5.0}
HOOK_WEIGHT = {"fast": 0.7, "balanced": 1.0, "slow": 1.3}
CTA_WEIGHT = {"fast": 0.8, "balanced": 1.0, "slow": 1.2}
SHORT_FORM = ("TikTok", "Instagram Reels", "YouTube Shorts", "Snapchat")
NOT_VISUAL = ("link", "bio", "link in bio", "music", "call to action", "it", "that", "people")
# Extra shots of one beat when the brief has fewer beats than scenes: (title suffix, what the camera sees).
DETAIL_ANGLES = (
    ("detail", "the details of {a}"),
    ("reaction", "a reaction to {a}"),
    ("another angle", "{a}, seen from another angle"),
    ("wider view", "the wider setting around {a}"),
)
DEFAULT_CTA = {
    "sell": "shop now, link in bio",
    "educate": "follow for more",
    "entertain": "share it with a friend",
    "inspire": "tell us your story in the comments",
    "document": "follow along for the next chapter",
    "raise awareness": "share to spread the word",
    "inform": "follow for more",
}


# --------------------------------------------------------------------------- helpers
def _phrase(rest: str, max_words: int, allow_who: bool = False) -> list[str]:
    """The noun phrase at the start of `rest`, cut at the first boundary word or punctuation mark; leading
    determiners dropped."""
    words = tokens(re.split(r"[,.;:!?]", rest, maxsplit=1)[0])
    out: list[str] = []
    for i, w in enumerate(words):
        if w == "who" and allow_who:
            out.extend(words[i : i + 8])
            break
        if w in _BOUNDARY:
            break
        if w == "and" and (i + 1 >= len(words) or words[i + 1] in _PRONOUN_AFTER_AND):
            break
        out.append(w)
        if len(out) >= max_words:
            break
    while out and (out[0] in _DETERMINERS or out[0] == "and"):
        out.pop(0)
    while out and out[-1] in ("and", "of", "the", "a", "an", "with"):
        out.pop()
    return out


def _content(words: list[str]) -> bool:
    return any(w not in STOPWORDS for w in words)


def _title_case(text: str) -> str:
    small = {"a", "an", "the", "of", "and", "or", "for", "to", "in", "on", "at", "with", "by"}
    words = text.split()
    return " ".join(w if (i and w in small) else (w[:1].upper() + w[1:]) for i, w in enumerate(words))


def _sentence_case(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _has_phrase(low: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w'-]){re.escape(phrase)}(?![\w'-])", low) is not None


@dataclass
class Brief:
    """The transcript read once: its sentences, its beats (clauses) and its lowercase text."""

    units: list[Unit]
    beats: list[Unit]
    low: str


def read_brief(transcript: Transcript) -> Brief:
    units = sentences(transcript)
    return Brief(units=units, beats=clauses(units), low=" . ".join(u.low for u in units))


# --------------------------------------------------------------------------- context fields
def _subject(brief: Brief) -> str | None:
    """What the video is about, from the first subject cue that names something: never a spoken length
    ("should be about thirty seconds long" is a duration, not a subject), a platform or an audience."""
    lows = [strip_durations(u.low) for u in brief.units]
    for cue in _SUBJECT_CUES:
        for low in lows:
            for m in cue.finditer(low):
                words = _phrase(_GERUND_LEAD.sub("", m.group(1)), 5)
                if words and _is_topic(words) and not _is_audience(words):
                    return " ".join(words)
    return None


_PLACE_WORDS = frozenset(w for p in _PLACES.split("|") for w in p.replace("?", "").split())
_PLATFORM_WORDS = frozenset(w for p in PLATFORM_NAMES for w in p.split()) | {
    "reel", "short", "shorts", "video", "videos", "clip", "post", "platform", "feed", "story", "stories",
}  # fmt: skip
_MOOD_SET = frozenset(MOOD_WORDS)
_AUDIENCE_WORDS = frozenset(w for n in AUDIENCE_NOUNS for w in n.split())


def _is_topic(words: list[str], *, places: bool = True) -> bool:
    """True when a phrase can be what a shot shows: not only mood words ("warm", "cozy"), audience nouns
    ("beginners"), platform words ("instagram reels"), a spoken length ("thirty seconds") or, with
    places=False, a bare place ("home")."""
    content = [w for w in words if w not in STOPWORDS]
    if not content or " ".join(words) in PLATFORM_NAMES or is_duration_or_number(content):
        return False
    rest = [
        w
        for w in content
        if w not in _MOOD_SET
        and w not in _AUDIENCE_WORDS
        and w not in _PLATFORM_WORDS
        and (places or w not in _PLACE_WORDS)
        and not is_duration_or_number([w])
    ]
    return bool(rest)


def _is_audience(words: list[str]) -> bool:
    text = " ".join(words)
    return any(_has_phrase(text, n) for n in AUDIENCE_NOUNS if n not in ("people", "anyone", "everyone"))


def _audience(brief: Brief) -> str | None:
    for u in brief.units:
        m = _AUDIENCE_CUE.search(u.low)
        if m:
            words = _phrase(m.group(1), 8, allow_who=True)
            if words and _content(words):
                return " ".join(words)
    for u in brief.units:
        m = _AUDIENCE_FOR.search(u.low)
        if m:
            words = _phrase(m.group(1) + m.group(2), 8, allow_who=True)
            if words and _content(words):
                return " ".join(words)
    for u in brief.units:
        m = _AUDIENCE_WHO.search(u.low)
        if m and not _ACTION.search(u.low):
            words = _phrase(m.group(1), 8, allow_who=True)
            if words and _content(words):
                return " ".join(words)
    return None


def _intent(low: str) -> str | None:
    best, best_hits = None, 0
    for intent, cues in INTENT_CUES:
        hits = sum(len(re.findall(rf"(?<![\w'-]){re.escape(c)}(?![\w'-])", low)) for c in cues)
        if hits > best_hits:
            best, best_hits = intent, hits
    return best


_VIBE_CUE = re.compile(r"\b(?:vibe|mood|feel|feels|feeling|tone|atmosphere|aesthetic|energy|look)\b")


def _moods_in(low: str) -> list[str]:
    found = [(m.start(), w) for w in MOOD_WORDS for m in [re.search(rf"(?<![\w'-]){w}(?![\w'-])", low)] if m]
    found.sort()
    return [w for _, w in found]


def _moods(brief: Brief) -> list[str]:
    """Mood words, those said in a sentence about the vibe ("the vibe is cozy") before any other."""
    said = [m for u in brief.units if _VIBE_CUE.search(u.low) for m in _moods_in(u.low)]
    rest = [m for u in brief.units if not _VIBE_CUE.search(u.low) for m in _moods_in(u.low)]
    out: list[str] = []
    for m in said + rest:
        if m not in out:
            out.append(m)
    return out


def _content_style(low: str) -> str | None:
    for cue, style in STYLE_CUES:
        if _has_phrase(low, cue):
            short = any(
                _has_phrase(low, w) for w in ("short", "shorts", "reel", "reels", "tiktok", "tik tok")
            )
            if short and style not in ("short-form story",) and not style.startswith("short"):
                return f"short-form {style}"
            return style
    return None


def _platform(low: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for spelling, name in PLATFORMS:
        m = re.search(rf"(?<![\w'-]){re.escape(spelling)}(?![\w'-])", low)
        if m and (best is None or m.start() < best[0] or (m.start() == best[0] and -len(spelling) < best[1])):
            best = (m.start(), -len(spelling), name)
    return best[2] if best else None


def _palette(brief: Brief) -> list[str]:
    """Colour words the speaker said, where the sentence is about colour (a colour cue, or two colours)."""
    cue = re.compile(
        r"\b(?:colou?rs?|palette|tones?|hues?|shades?|grade|graded|accents?|lighting|backdrop|background|wardrobe|outfits?|ish)\b"
    )
    names: list[str] = []
    for u in brief.units:
        found = colors.find_colors(u.low)
        if found and (cue.search(u.low) or len(found) >= 2):
            names.extend(n for n in found if n not in names)
    return [colors.entry(n) for n in names[:6]]


def _sounds(brief: Brief) -> list[str]:
    found: list[tuple[int, str]] = []
    low = brief.low.replace("-", " ")
    spans: list[tuple[int, int]] = []
    for cue, label in SOUND_CUES:  # longer cues come first: "acoustic guitar" hides "acoustic"
        m = re.search(rf"(?<![\w']){re.escape(cue)}(?![\w'])", low)
        if not m or any(a < m.end() and m.start() < b for a, b in spans):
            continue
        spans.append(m.span())
        if label not in [lbl for _, lbl in found]:
            found.append((m.start(), label))
    for m in re.finditer(r"\b([a-z]+(?: [a-z]+)?) (?:music|soundtrack|song|beats?)\b", low):
        words = [w for w in m.group(1).split() if w not in STOPWORDS and w not in _BOUNDARY]
        if words:
            label = f"{' '.join(words)} music"
            covered = any(_has_phrase(m.group(1), cue) for cue, _ in SOUND_CUES)
            if not covered:
                found.append((m.start(), label))
    found.sort()
    return [label for _, label in found]


def _list_items(rest: str) -> list[list[str]]:
    """The noun phrases of a list that starts `rest`: "ice, glass bottles and a city rooftop at sunrise" ->
    [ice], [glass bottles and a city rooftop]. The list goes on over commas while each item is a noun phrase
    (an item that starts with a boundary word, "then pour ...", ends it)."""
    out: list[list[str]] = []
    sentence = re.split(r"[.;:!?]", rest, maxsplit=1)[0]
    for i, piece in enumerate(sentence.split(",")):
        piece = piece.strip()
        words = tokens(piece)
        if i and (not words or words[0] in _BOUNDARY or words[0] in _NOT_ELEMENT_START):
            break
        phrase = _phrase(piece, 8)
        if not phrase:
            break
        out.append(phrase)
        if phrase[-1] != words[-1]:
            break  # the phrase was cut short inside this piece ("... rooftop at sunrise"): the list ended there
    return out


def _visual_elements(brief: Brief, subject: str | None) -> list[str]:
    items: list[str] = []
    for u in brief.units:
        for m in _VISUAL_CUE.finditer(u.low):
            rest = _CAMERA.sub(" ", m.group(1))
            if re.match(r"\s*(?:people|you|them|us|viewers|everyone) how\b|\s*how\b", rest):
                continue
            for part in [p for phrase in _list_items(rest) for p in " ".join(phrase).split(" and ")]:
                words = [w for w in part.split() if w not in _DETERMINERS][:4]
                while words and words[-1] in ("it", "them", "this", "that", "him", "her"):
                    words.pop()
                if words and words[0] in _NOT_ELEMENT_START:
                    continue
                text = " ".join(words)
                if (
                    words
                    and _is_topic(words)
                    and text != subject
                    and text not in items
                    and text not in NOT_VISUAL
                ):
                    items.append(text)
    return items[:8]


def _title(brief: Brief, subject: str | None, style: str | None) -> str | None:
    for u in brief.units:
        m = _TITLE.search(u.low)
        if m:
            words = _phrase(m.group(1), 6)
            if words:
                return _title_case(" ".join(words))
    if subject:
        base = _title_case(subject)
        return f"{base}: {_title_case(style)}" if style else base
    return None


def _negatives(brief: Brief) -> list[str]:
    out: list[str] = []
    for u in brief.units:
        for m in _NEGATIVE_ASK.finditer(u.low):
            rest = re.sub(r"^(?:it to (?:be|look|feel)|to (?:be|look|feel)|it|any|too)\s+", "", m.group(1))
            words = _phrase(rest, 3)
            text = " ".join(words)
            if words and _content(words) and "music" not in words and text not in out:
                out.append(text)
    return out[:4]


def _vibe_lookup(table, vibe_words: list[str], default: tuple[str, ...]) -> tuple[str, ...]:
    for word in vibe_words:
        for keys, value in table:
            if word in keys:
                return value
    return default


# --------------------------------------------------------------------------- the planner
class LocalPlanner:
    """Deterministic planner: keywords (RAKE), tone (lexicon), and the brief's own structure."""

    name = "local"

    def extract_context(self, transcript: Transcript) -> CreativeContext:
        brief = read_brief(transcript)
        missing: list[str] = []

        def need(field: str, value, default):
            if value:
                return value
            missing.append(field)
            return default

        keywords = keyphrases(brief.units, top=10, extra_stop=_KEYWORD_STOP)
        subject = _subject(brief)
        if not subject:
            # no "a video about X": the brief's strongest phrase that is not a platform/mood word
            subject = next((k for k in keywords if not any(m in k.split() for m in MOOD_WORDS)), None)
        platform = _platform(brief.low)
        style = _content_style(brief.low)
        if style is None and platform in SHORT_FORM:
            style = "short-form video"  # "a tiktok" / "a reel" names the format
        intent = _intent(brief.low)
        moods = _moods(brief)
        score = sentiment(" ".join(u.low for u in brief.units))
        tone = "positive" if score > 0.05 else "negative" if score < -0.05 else "neutral"
        title = _title(brief, subject, style)
        subject = need("subject", subject, "the subject of the brief")
        intent = need("intent", intent, "inform")
        vibe = need(
            "vibe",
            ", ".join(moods[:3]),
            {"positive": "upbeat, warm", "negative": "serious, sober"}.get(tone, "clear, calm"),
        )
        style = need("content_style", style, STYLE_FOR_INTENT.get(intent, "short-form video"))
        vibe_words = moods or [w.strip() for w in vibe.split(",")]
        palette = need(
            "color_palette",
            _palette(brief),
            [colors.entry(n) for n in _vibe_lookup(VIBE_PALETTES, vibe_words, NEUTRAL_PALETTE)],
        )
        return CreativeContext(
            title=need("title", title, "Untitled brief"),
            subject=subject,
            intent=intent,
            vibe=vibe,
            content_style=style,
            target_audience=need("target_audience", _audience(brief), "general audience"),
            visual_elements=need("visual_elements", _visual_elements(brief, subject), [subject]),
            color_palette=palette,
            sound_preferences=need(
                "sound_preferences",
                _sounds(brief),
                list(_vibe_lookup(SOUND_FOR_VIBE, vibe_words, NEUTRAL_SOUND)),
            ),
            keywords=need("keywords", keywords, []),
            tone=tone,
            sentiment=score,
            platform=need("platform", platform, None),
            target_duration_s=need("target_duration_s", target_duration(brief.low), None),
            missing=missing,
        )

    def write_scenes(
        self, transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int
    ) -> ScenePlan:
        if not 3 <= n_scenes <= 10:
            raise ValueError(f"n_scenes must be 3..10, got {n_scenes}")
        v = resolve_variant(variant)
        brief = read_brief(transcript)
        writer = _SceneWriter(brief, context, v)
        return writer.plan(n_scenes)


# --------------------------------------------------------------------------- scene writing
@dataclass
class _Slot:
    role: str  # hook | beat | detail | cta
    unit: Unit | None
    element: str | None = None
    # the beats a merged scene spans: its start frame shows the first, its end the last
    parts: tuple[Unit, ...] = ()
    angle: int = 0  # the how-manieth extra shot of the same beat (picks DETAIL_ANGLES)


class _SceneWriter:
    def __init__(self, brief: Brief, context: CreativeContext, variant: dict[str, str]) -> None:
        self.brief = brief
        self.ctx = context
        self.v = variant
        self.pacing = variant["pacing"]
        self.style = variant["visual_style"]
        self.palette_names = [colors.name_of(p) for p in context.color_palette][:5]
        self.negatives = _negatives(brief)
        place = _PLACE.search(brief.low)
        self.place = place.group(1) if place else None  # the brief's overall setting, if it named one

    # ---- structure: hook -> beats in the speaker's order -> call to action
    def _structure(self, n: int) -> list[_Slot]:
        beats = self.brief.beats
        hook = next((u for u in beats if _HOOK.search(u.low) and not CTA_CUE.search(u.low)), None)
        cta = next((u for u in reversed(beats) if CTA_CUE.search(u.low) and u is not hook), None)
        middle = [u for u in beats if u is not hook and u is not cta and _is_beat(u)]
        if hook is None:
            # no explicit opening: the hook grows out of the sentence that names the subject
            hook = next((u for u in self.brief.units if _has_phrase(u.low, self.ctx.subject)), None)
            if hook is None and self.brief.units:
                hook = self.brief.units[0]
            middle = [u for u in middle if u.low != (hook.low if hook else None)]
        slots_n = n - 2
        groups: list[list[Unit]] = []
        if len(middle) >= slots_n:
            # more beats than slots: contiguous groups, the earlier groups one larger
            size, extra = divmod(len(middle), slots_n)
            i = 0
            for g in range(slots_n):
                take = size + (1 if g < extra else 0)
                groups.append(middle[i : i + take])
                i += take
            slots = [_Slot("beat", _merge(g), parts=tuple(g)) for g in groups]
        else:
            slots = self._expand(middle, slots_n, [u for u in (hook, cta) if u is not None])
        return [_Slot("hook", hook), *slots, _Slot("cta", cta)]

    def _expand(self, middle: list[Unit], slots_n: int, ends: list[Unit]) -> list[_Slot]:
        """Fewer beats than scenes: each beat gets detail shots after it (visual elements the shots did not
        show yet first); with no beats at all the visual elements and keywords become the beats."""
        used = _strip_det(" ".join(u.low for u in [*ends, *middle]))
        spare = [
            e
            for e in self.ctx.visual_elements
            if not _has_phrase(used, _strip_det(e)) and _is_topic(tokens(e), places=False)
        ]
        if not middle:
            # keywords are topics only when they name something to film: not the mood ("cozy"), the audience
            # ("beginners"), a bare place ("home", the setting is added to every prompt) or the platform
            filmable = " . ".join(u.low for u in self.brief.units if _is_beat(u))
            keywords = [
                k
                for k in self.ctx.keywords
                if _has_phrase(filmable, k)
                and k not in spare
                and k != self.ctx.subject
                and not _has_phrase(self.ctx.subject, k)
                and _is_topic(tokens(k), places=False)
                and not _has_phrase(self.ctx.target_audience.lower(), k)
            ]
            topics = [*spare, *keywords]
            subject = self.ctx.subject
            generic = [
                f"{subject} in its setting",
                f"{subject} up close",
                f"{subject} in motion",
                f"the payoff moment with {subject}",
                f"the first step of {subject}",
                f"hands at work on {subject}",
                f"the finished result of {subject}",
                f"a reaction to {subject}",
            ]
            topics += [g for g in generic if g not in topics]
            return [_Slot("detail", None, topics[i % len(topics)]) for i in range(slots_n)]
        per_beat: list[list[_Slot]] = [[_Slot("beat", u)] for u in middle]
        need = slots_n - len(middle)
        for i in range(need):
            j = i % len(middle)
            element = spare[i] if i < len(spare) else None
            angle = sum(1 for s in per_beat[j] if s.role == "detail" and s.element is None)
            per_beat[j].append(_Slot("detail", middle[j], element, angle=angle))
        return [s for group in per_beat for s in group]

    # ---- durations: weights per role, scaled to the asked length (or the pacing's base seconds)
    def _durations(self, slots: list[_Slot]) -> list[float]:
        weights = []
        for s in slots:
            if s.role == "hook":
                weights.append(HOOK_WEIGHT[self.pacing])
            elif s.role == "cta":
                weights.append(CTA_WEIGHT[self.pacing])
            else:
                words = len(s.unit.words) if s.unit and s.role == "beat" else 6
                weights.append(0.8 + 0.6 * min(words, 30) / 30)
        total = planned_duration(self.pacing, len(slots), self.ctx.target_duration_s)
        raw = [max(0.5, total * w / sum(weights)) for w in weights]
        out = [round(r, 1) for r in raw]
        out[-1] = max(0.5, round(out[-1] + round(total - sum(out), 1), 1))
        return out

    # ---- one scene
    def _camera(self, index: int, slot: _Slot) -> tuple[str, str, str]:
        """(camera text, start shot size, end shot size)."""
        low = slot.unit.low if slot.unit and slot.role != "detail" else ""
        if slot.role == "hook":
            shot = {
                "question": "close-up",
                "bold_claim": "medium close-up",
                "story": "wide shot",
                "statistic": "medium shot",
            }[self.v["hook_style"]]
        elif slot.role == "cta":
            shot = "medium shot"
        elif slot.role == "detail" and slot.element and any(w in _PLACE_WORDS for w in tokens(slot.element)):
            shot = "wide shot"  # a place ("city rooftop") is shown whole, not in close-up
        elif slot.role == "detail":
            shot = "close-up" if index % 2 else "extreme close-up"
        else:
            shot = SHOTS[(index - 2) % len(SHOTS)]
        said = _CAMERA.search(low)
        if said:
            word = said.group(1).replace("closeup", "close-up").replace("close up", "close-up")
            shot = word if "shot" in word or "close" in word else f"{word} shot"
        moves = MOVES[self.style]
        move = moves[(index - 1) % len(moves)]
        said_move = _MOVE.search(low)
        if said_move:
            move = said_move.group(1)
        if self.pacing == "fast":
            move = move.replace("slow ", "quick ")
        elif self.pacing == "slow" and not move.startswith(("slow", "static", "locked")):
            move = f"slow {move}"
        end_shot = shot
        if shot in SHOT_LADDER:
            i = SHOT_LADDER.index(shot)
            if re.search(r"push|zoom in|dolly in|zoom(?:s|ing)? in", move):
                end_shot = SHOT_LADDER[min(i + 1, len(SHOT_LADDER) - 1)]
            elif re.search(r"pull|dolly out|zoom(?:s|ing)? out|crane up|back", move):
                end_shot = SHOT_LADDER[max(i - 1, 0)]
        return f"{shot}, {move}", shot, end_shot

    def _action(self, slot: _Slot) -> str:
        if slot.role == "detail" and slot.element is None and slot.unit is not None:
            template = DETAIL_ANGLES[slot.angle % len(DETAIL_ANGLES)][1]
            return template.format(a=self._clause_action(slot.unit))
        if slot.role == "detail" or slot.unit is None:
            return slot.element or self.ctx.subject
        if slot.role == "hook" and not _HOOK.search(slot.unit.low):
            return self._subject_np()  # the hook grew out of the sentence naming the subject
        return self._clause_action(slot.unit)

    def _clause_action(self, unit: Unit) -> str:
        """What the camera sees in a beat: the clause without its instruction words, camera words or meta."""
        text = re.sub(r"\s*[,;:.!?]+\s*", " ", unit.low).strip()
        text = _LEAD.sub("", text, count=1)
        text = _CAMERA.sub(" ", text)
        text = _META_TAIL.sub("", text) if len(text.split()) > 3 else text
        text = re.sub(r"\s+", " ", text).strip(" ,.")
        text = re.sub(r"(?:\s+(?:as|with|in|of|and|a|an|the|to))+$", "", text)  # left dangling by a cut
        words = text.split()
        while words and words[0] in _DETERMINERS - {"our", "my", "your", "their"} | {"of", "and"}:
            words.pop(0)
        return " ".join(words[:18]) or self.ctx.subject

    def _elements_for(self, index: int, action: str) -> list[str]:
        """One visual element for the frame that its action does not already show (none if it shows one)."""
        elems = [e for e in self.ctx.visual_elements if e != self.ctx.subject]
        plain = _strip_det(action)
        if any(_has_phrase(plain, _strip_det(e)) for e in elems):
            return []
        unused = [e for e in elems if not _has_phrase(plain, _strip_det(e))]
        return [unused[(index - 1) % len(unused)]] if unused else []

    def _subject_np(self) -> str:
        """The subject as the speaker said it, with their determiner ("our new oat milk latte")."""
        m = re.search(
            rf"\b(our|my|your|their|the|this|a|an)\s+{re.escape(self.ctx.subject)}\b", self.brief.low
        )
        return f"{m.group(1)} {self.ctx.subject}" if m else self.ctx.subject

    def _hook_line(self, unit: Unit | None) -> str:
        subject = self._subject_np()
        intent = self.ctx.intent
        style = self.v["hook_style"]
        low = unit.low if unit else ""
        if style == "question":
            if unit is not None and re.match(
                r"^(?:ever wondered|what if|have you|do you|did you|why do|how do|can you)\b", low
            ):
                return _sentence_case(unit.text.rstrip(".!?")) + "?"
            if intent == "educate":
                return f"Do you know the secret to {subject}?"
            if intent == "document":
                return f"What really goes into {subject}?"
            return f"Have you ever seen {subject} like this?"
        if style == "bold_claim":
            if intent == "educate":
                return f"You've been doing {subject} wrong."
            if intent == "document":
                return f"This is {subject} like you've never seen it."
            return f"You've never seen {subject} like this."
        if style == "story":
            if unit is not None and _HOOK.search(low):
                return f"It started with {self._action(_Slot('hook', unit))}."
            return f"Here's the story of {subject}."
        # statistic: only a figure the speaker said; none is ever invented
        stat = statistic_in(u.text for u in self.brief.units)
        if stat is not None:
            return _sentence_case(stat.rstrip(".!?")) + "."
        return f"{_sentence_case(subject)}, by the numbers: [add a sourced statistic; the brief gave none]"

    def _scene(self, index: int, n: int, slot: _Slot, duration: float, hook_line: str) -> Scene:
        ctx = self.ctx
        camera, shot, end_shot = self._camera(index, slot)
        move = camera.split(", ", 1)[1]
        action = self._action(slot)
        elements = self._elements_for(index, action)
        subject_words = [w for w in tokens(ctx.subject) if w not in STOPWORDS]
        carries_subject = all(_has_phrase(action, w) for w in subject_words) if subject_words else True
        subject_bit = "" if carries_subject else f", featuring {ctx.subject}"
        elems_bit = f", with {_join(elements)}" if elements else ""
        look = LOOK[self.style]
        grade = GRADE[self.v["color_treatment"]]
        palette = f"color palette: {', '.join(self.palette_names)}" if self.palette_names else ""
        tail = ", ".join(x for x in (f"{ctx.vibe} mood", look, grade, palette) if x)
        hook_style = self.v["hook_style"].replace("_", " ")

        end_action = action
        if slot.role == "beat" and len(slot.parts) > 1:
            action, end_action = self._clause_action(slot.parts[0]), self._clause_action(slot.parts[-1])
        if slot.role == "hook":
            overlay = {
                "question": f'on-screen question "{hook_line}"',
                "bold_claim": f'bold headline text "{hook_line}"',
                "story": "establishing the place and the person the story follows",
                "statistic": f'a large on-screen figure: "{hook_line}"',
            }[self.v["hook_style"]]
            start_core = f"{shot} of {action}{subject_bit}{elems_bit}"
            end_core = f"{end_shot} of {action}{subject_bit}, {overlay}"
            title = f"Hook: {self._phrase_title(slot, action)}"
            what = f"Hook ({hook_style}): {shot} of {action}, {overlay}"
        elif slot.role == "cta":
            cta_text, action = self._cta(slot, action)
            if slot.unit is None or not action:
                action = self._subject_np()
                subject_bit = ""
            start_core = f"{shot} of {action}{subject_bit}{elems_bit}"
            end_core = f'{end_shot} of {action}{subject_bit}, end card with space for the call to action "{cta_text}"'
            title = f"Call to action: {_title_case(cta_text[:40])}"
            what = f'Call to action: {shot} of {action}, closing on "{cta_text}"'
            if slot.unit is None:
                what += f" (the brief named no call to action; default for intent '{ctx.intent}')"
        else:
            start_core = f"{shot} of {action}{subject_bit}{elems_bit}, the action beginning"
            end_core = f"{end_shot} of {end_action}{subject_bit}, moments later, the action completed"
            title = self._phrase_title(slot, action)
            what = ("Detail" if slot.role == "detail" else "Beat") + f": {shot} of {action}{elems_bit}"
            if end_action != action:
                what += f", through to {end_action}"

        shots = max(1, round(duration / SHOT_SECONDS[self.pacing]))
        cut_text = (
            "one continuous shot"
            if shots == 1
            else f"{shots} quick cuts"
            if self.pacing == "fast"
            else f"{shots} shots"
        )
        description = f"{what}. {_sentence_case(cut_text)} over {duration:g} s; camera {camera}. {_sentence_case(self.style)} look, {self.v['color_treatment']} grade."
        negative = ", ".join(
            [
                BASE_NEGATIVE,
                STYLE_NEGATIVE[self.style],
                GRADE_NEGATIVE[self.v["color_treatment"]],
                *self.negatives,
            ]
        )
        said = _SETTING.search(action.lower())
        setting = said.group(1) if said else self.place
        if setting and not said:
            start_core += f", {setting}"
        where = f"setting ({setting})" if setting else "setting"
        end_note = f"same {ctx.subject} and {where} as the start frame, after the camera move ({move})"
        transition = (
            ENDING[self.pacing]
            if index == n
            else TRANSITIONS[self.pacing][(index - 1) % len(TRANSITIONS[self.pacing])]
        )
        narration = ""
        if slot.unit is not None:
            narration = slot.unit.text if slot.role != "detail" or slot.element is None else ""
        if slot.role == "hook":
            narration = slot.unit.text if slot.unit else ""
        return Scene(
            index=index,
            title=title[:80],
            description=description,
            start_frame=Frame(role="start", prompt=f"{start_core}, {tail}", negative_prompt=negative),
            end_frame=Frame(role="end", prompt=f"{end_core}, {end_note}, {tail}", negative_prompt=negative),
            transition=transition,
            duration=duration,
            camera=camera,
            narration=narration,
        )

    def _cta(self, slot: _Slot, action: str) -> tuple[str, str]:
        """(the call to action's words, what the last shot shows). The words are the speaker's when they said
        some ("follow for more cheap recipes"), else the intent's default."""
        if slot.unit is None:
            return DEFAULT_CTA.get(self.ctx.intent, "follow for more"), ""
        m = CTA_PHRASE.search(action)
        if not m:
            return action, action
        words = action[m.start() :].split()[:8]
        shown = re.sub(r"\s+(?:and|and say|and ask|then|with)\s*$", "", action[: m.start()].strip())
        shown = re.sub(
            r"(?:^|\s+)(?:and )?(?:say|ask|tell|saying|asking)(?: (?:people|viewers|them|everyone))?(?: to)?$",
            "",
            shown,
        )
        shown = re.sub(
            r"\s+(?:and|with) (?:the |a )?(?:line|text|words|tagline|caption|card)(?: saying)?$", "", shown
        )
        shown = shown.strip(" ,")
        return " ".join(words), shown

    def _phrase_title(self, slot: _Slot, action: str) -> str:
        if slot.role == "detail" and slot.element:
            return f"Detail: {_title_case(slot.element)}"
        if slot.role == "detail" and slot.unit is not None:
            base = self._phrase_title(_Slot("beat", slot.unit), self._clause_action(slot.unit))
            return f"{base} ({DETAIL_ANGLES[slot.angle % len(DETAIL_ANGLES)][0]})"
        picked = keyphrases([Unit(action, action.lower())], top=1, extra_stop=_KEYWORD_STOP)
        text = picked[0] if picked else " ".join(action.split()[:4])
        return _title_case(text) or _title_case(self.ctx.subject)

    def plan(self, n: int) -> ScenePlan:
        slots = self._structure(n)
        durations = self._durations(slots)
        hook_line = self._hook_line(slots[0].unit)
        scenes = [
            self._scene(i, n, slot, durations[i - 1], hook_line) for i, slot in enumerate(slots, start=1)
        ]
        return ScenePlan(scenes=scenes, variant=dict(self.v), hook=hook_line)


def _is_beat(unit: Unit) -> bool:
    """A sentence that describes something to film, not one about the brief itself (audience, mood, music,
    colours, platform, length), unless it also names an action."""
    if _ACTION.search(unit.low):
        return True
    return not _META.search(unit.low) and not _AUDIENCE_WHO.search(unit.low)


def _strip_det(text: str) -> str:
    return " ".join(w for w in tokens(text) if w not in _DETERMINERS)


def _merge(units: list[Unit]) -> Unit:
    if len(units) == 1:
        return units[0]
    return Unit(
        "; ".join(u.text for u in units), " ; ".join(u.low for u in units), units[0].start, units[-1].end
    )
