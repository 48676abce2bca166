"""Reading a spoken brief into the creative context: the cue regexes (what marks the subject, the audience, a
title, a camera direction, a setting), the noun-phrase helpers and one function per context field (subject,
audience, intent, moods, content style, platform, palette, sounds, visual elements, title, what not to show).
`read_context` fills a CreativeContext, with a default (named in `missing`) wherever the brief said nothing.

Deterministic: every choice is a lookup or a regex match; no network, no randomness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storyreel.services.brief.discourse import Item, enumerated, sort_out
from storyreel.services.brief.lexicon import (
    AUDIENCE_NOUNS,
    GRADE_TERMS,
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
    STYLE_TERMS,
    TENS,
    VIBE_PALETTES,
    words,
)
from storyreel.services.brief.textkit import (
    Unit,
    bounded,
    clauses,
    find_word,
    is_duration_or_number,
    keyphrases,
    sentences,
    sentiment,
    strip_durations,
    target_duration,
    tokens,
    word_pattern,
)
from storyreel.services.brief.vocab import CTA_CUE
from storyreel.services.scenes.shots import CAMERA as SHOT_CAMERA
from storyreel.services.scenes.shots import shot_name
from storyreel.shared import colors
from storyreel.shared.contracts import CreativeContext, StatedLever, Transcript

# --------------------------------------------------------------------------- cues
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
CAMERA = re.compile(
    r"\b(extreme close[- ]?up|close[- ]?up|wide shot|wide|aerial|drone shot|overhead|top[- ]down"
    r"|slow motion|time[- ]?lapse|pov|point of view|tracking shot|handheld|macro)\b(?: shots?)?(?: of)?"
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
SETTING = re.compile(
    rf"\b((?:at|in|inside|on|by|near|behind|outside) (?:the |a |an |our |my |their )?(?:[a-z]+ )?(?:{_PLACES}|{_SPOTS}))\b"
)
PLACE = re.compile(
    rf"\b((?:at|in|inside|outside) (?:the |a |an |our |my |their )?(?:[a-z]+ )?(?:{_PLACES}))\b"
)
_TITLE = re.compile(r"\b(?:call(?:ed)? it|titled?|title is|name(?:d)? it)\s+(.+)")

_SUBJECT_CUES = (
    re.compile(
        r"\b(?:video|short|reel|clip|ad|commercial|spot|tiktok|film|story|piece|tutorial|vlog|explainer|demo"
        r"|review|post) (?:about|on|of|showing|featuring|introducing|explaining|promoting|showcasing)\s+(.+)"
    ),
    re.compile(r"\b(?:it'?s|it is|this is|this one is) (?:all )?about\s+(.+)"),
    # "a teaser for our new electric bike", "a recap of DevSummit", "promo for our podcast Night Shift"
    re.compile(
        r"\b(?:teaser|trailer|promo|recap|launch video|launch film) (?:for|of) (?:(?:our|my|the|a|an|this) )?(.+)"
    ),
    # "So it's for Rosie's Bakery", "the video is for Blocko": a name, not an audience (checked below)
    re.compile(r"^(?:it'?s|it is|this is|the video is|the ad is) for (?:(?:our|my|the) )?(?!a |an )(.+)"),
    # "it's Glow Drop, our vitamin C serum": a name and what it is
    re.compile(
        r"^(?:it'?s|it is|this is|the product is) (?!for\b|about\b|a\b|an\b|the\b)(.+?), (?:our|my|the|a|an)\b"
    ),
    re.compile(
        r"\b(?:promote|promoting|launch|launching|introduce|introducing|showcase|showcasing|advertise"
        r"|advertising|sell|selling|highlight|highlighting|listing|opening|releasing)\s+(.+)"
    ),
    re.compile(
        r"\b(?:how to|teach (?:people|viewers|you|them) (?:how )?to|explain(?:ing)? how to)\s+\w+\s+(.+)"
    ),
    re.compile(
        r"\b(?:video|short|reel|clip|ad|commercial|spot|tiktok|post|teaser|trailer|promo) for"
        r" (?:(?:our|my|the|a|an|this) )?(?!a |an )(.+)"
    ),
    re.compile(r"\babout\s+(.+)"),
)
_AUDIENCE_CUE = re.compile(
    r"\b(?:target(?:ing)?|aimed at|aim(?:ing)? at|geared (?:to|toward|towards)|made for|speaking to"
    r"|(?:target )?audience (?:is|are|would be|will be|of)|it'?s for|this is for|mainly for|mostly for"
    r"|primarily for|for an audience of)\s+(.+)"
)
_AUDIENCE_FOR = re.compile(
    r"\bfor ((?:[a-z'-]+ ){0,3}?(?:" + "|".join(re.escape(n) for n in AUDIENCE_NOUNS) + r"))\b(.*)"
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
probably really just who after before until as if or than next tomorrow tonight today""")
DETERMINERS = words("a an the some this that these those my our your their its his her any")
_PRONOUN_AFTER_AND = words("we i you they it then make show have end finally also")
_UNITS = ("second", "seconds", "sec", "secs", "minute", "minutes", "min", "mins")
KEYWORD_STOP = (
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
# Platforms whose name alone says the format is short-form video.
SHORT_FORM = ("TikTok", "Instagram Reels", "YouTube Shorts", "Snapchat")
# What a "show ..." cue can name that no frame shows.
NOT_VISUAL = ("link", "bio", "link in bio", "music", "call to action", "it", "that", "people")


# --------------------------------------------------------------------------- helpers
_PP = ("in", "of", "at", "with", "from", "across")


def _phrase(
    rest: str, max_words: int, allow_who: bool = False, pp: bool | frozenset[str] = False
) -> list[str]:
    """The noun phrase at the start of `rest`, cut at the first boundary word or punctuation mark; leading
    determiners dropped. With `pp`, a prepositional phrase goes on ("women in their thirties"); with a set
    of words, only one whose next word is in it ("a week in lisbon", the set being the brief's names)."""
    words = tokens(re.split(r"[,.;:!?]", rest, maxsplit=1)[0])
    out: list[str] = []
    for i, w in enumerate(words):
        if w == "who" and allow_who:
            out.extend(words[i : i + 8])
            break
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in _PP and out and nxt and (pp is True or (isinstance(pp, frozenset) and nxt in pp)):
            out.append(w)
            continue
        if w in _BOUNDARY:
            break
        if w == "and" and (i + 1 >= len(words) or words[i + 1] in _PRONOUN_AFTER_AND):
            break
        out.append(w)
        if len(out) >= max_words:
            break
    while out and (out[0] in DETERMINERS or out[0] == "and"):
        out.pop(0)
    while out and out[-1] in ("and", "of", "the", "a", "an", "with", *_PP):
        out.pop()
    return out


def _names(units: list[Unit]) -> frozenset[str]:
    """Words the brief writes capitalised inside a sentence: its names (Lisbon, Shiftly, Mill Street)."""
    out: set[str] = set()
    for u in units:
        for m in re.finditer(r"(?<=[a-z,] )([A-Z][\w'-]*)", u.text):
            out.add(m.group(1).lower())
    return frozenset(out)


def _content(words: list[str]) -> bool:
    return any(w not in STOPWORDS for w in words)


def title_case(text: str) -> str:
    """Title Case, with the small words lowercase after the first ("Cold Brew for Beginners")."""
    small = {"a", "an", "the", "of", "and", "or", "for", "to", "in", "on", "at", "with", "by"}
    words = text.split()
    return " ".join(w if (i and w in small) else (w[:1].upper() + w[1:]) for i, w in enumerate(words))


def has_phrase(low: str, phrase: str) -> bool:
    """True when `phrase` occurs in `low` as whole words."""
    return find_word(low, phrase) is not None


@dataclass(frozen=True)  # read once; the local planner reuses one reading for the context and the scenes
class Brief:
    """The transcript read once: its sentences (talk set aside), its beats (clauses), its lowercase text, the
    scenes the speaker enumerated, the talk, and a meeting's answers to questions about a field."""

    units: list[Unit]
    beats: list[Unit]
    low: str
    items: list[Item] = field(default_factory=list)
    talk: list[Unit] = field(default_factory=list)
    answers: dict[str, Unit] = field(default_factory=dict)
    meeting: bool = False


def read_brief(transcript: Transcript) -> Brief:
    """The transcript cut into sentences and beats, its talk (greetings, small talk, a meeting's questions
    and the proposals nobody took up) set aside, its enumerated scenes read out."""
    sorted_out = sort_out(sentences(transcript))
    units = sorted_out.content
    return Brief(
        units=units,
        beats=clauses(units),
        low=" . ".join(u.low for u in units),
        items=enumerated(units),
        talk=sorted_out.talk,
        answers=sorted_out.answers,
        meeting=sorted_out.meeting,
    )


# --------------------------------------------------------------------------- context fields
def _subject(brief: Brief) -> str | None:
    """What the video is about, from the first subject cue that names something: never a spoken length
    ("should be about thirty seconds long" is a duration, not a subject), a platform or an audience."""
    lows = [strip_durations(u.low) for u in brief.units]
    names = _names(brief.units)
    for cue in _SUBJECT_CUES:
        for low in lows:
            for m in cue.finditer(low):
                words = _phrase(_GERUND_LEAD.sub("", m.group(1)), 5, pp=names)
                if words and is_topic(words) and not _is_audience(words):
                    return " ".join(words)
    return None


PLACE_WORDS = frozenset(w for p in _PLACES.split("|") for w in p.replace("?", "").split())
_PLATFORM_WORDS = frozenset(w for p in PLATFORM_NAMES for w in p.split()) | {
    "reel", "short", "shorts", "video", "videos", "clip", "post", "platform", "feed", "story", "stories",
}  # fmt: skip
_MOOD_SET = frozenset(MOOD_WORDS)
_AUDIENCE_WORDS = frozenset(w for n in AUDIENCE_NOUNS for w in n.split())


def is_topic(words: list[str], *, places: bool = True) -> bool:
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
        and (places or w not in PLACE_WORDS)
        and not is_duration_or_number([w])
    ]
    return bool(rest)


def _is_audience(words: list[str]) -> bool:
    text = " ".join(words)
    return any(has_phrase(text, n) for n in AUDIENCE_NOUNS if n not in ("people", "anyone", "everyone"))


def is_beat(unit: Unit) -> bool:
    """A sentence that describes something to film, not one about the brief itself (audience, mood, music,
    colours, platform, length), unless it also names an action."""
    if _ACTION.search(unit.low):
        return True
    return not _META.search(unit.low) and not _AUDIENCE_WHO.search(unit.low)


def _audience_words(rest: str) -> str | None:
    words = _phrase(rest, 10, allow_who=True, pp=True)
    if not words or not _content(words) or (not is_topic(words, places=True) and not _is_audience(words)):
        return None
    if all(w in _PLATFORM_WORDS or w in STOPWORDS for w in words):
        return None  # "it's for instagram reels" names the platform, not who watches
    return " ".join(words)


def _audience(brief: Brief) -> str | None:
    """Who the video is for, as the speaker said it ("commuters in their twenties and thirties who ..."): a
    meeting's answer to "who is it for?", then the cues ("the audience is", "aimed at", "for busy parents"),
    then a "young professionals who ..." description."""
    answer = brief.answers.get("target_audience")
    if answer is not None and (found := _audience_words(answer.low)):
        return found
    for u in brief.units:
        m = _AUDIENCE_CUE.search(u.low)
        if m and (found := _audience_words(m.group(1))):
            return found
    for u in brief.units:
        m = _AUDIENCE_FOR.search(u.low)
        if m and (found := _audience_words(m.group(1) + m.group(2))):
            return found
    for u in brief.units:
        m = _AUDIENCE_WHO.search(u.low)
        if m and not _ACTION.search(u.low) and (found := _audience_words(m.group(1))):
            return found
    return None


def _intent(low: str) -> str | None:
    best, best_hits = None, 0
    for intent, cues in INTENT_CUES:
        hits = sum(len(word_pattern(c).findall(low)) for c in cues if c in low)
        if hits > best_hits:
            best, best_hits = intent, hits
    return best


_VIBE_CUE = re.compile(r"\b(?:vibe|mood|feel|feels|feeling|tone|atmosphere|aesthetic|energy|look)\b")


def _moods_in(low: str) -> list[str]:
    found = [(m.start(), w) for w in MOOD_WORDS if (m := find_word(low, w))]
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
        if has_phrase(low, cue):
            short = any(has_phrase(low, w) for w in ("short", "shorts", "reel", "reels", "tiktok", "tik tok"))
            if short and style not in ("short-form story",) and not style.startswith("short"):
                return f"short-form {style}"
            return style
    return None


def _platform(low: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for spelling, name in PLATFORMS:
        m = find_word(low, spelling)
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
        m = find_word(low, cue, edge=r"\w'")
        if not m or any(a < m.end() and m.start() < b for a, b in spans):
            continue
        spans.append(m.span())
        if label not in [lbl for _, lbl in found]:
            found.append((m.start(), label))
    for m in re.finditer(r"\b([a-z]+(?: [a-z]+)?) (?:music|soundtrack|song|beats?)\b", low):
        words = [w for w in m.group(1).split() if w not in STOPWORDS and w not in _BOUNDARY]
        if words:
            label = f"{' '.join(words)} music"
            covered = any(has_phrase(m.group(1), cue) for cue, _ in SOUND_CUES)
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
            rest = CAMERA.sub(" ", m.group(1))
            if re.match(r"\s*(?:people|you|them|us|viewers|everyone) how\b|\s*how\b", rest):
                continue
            for part in [p for phrase in _list_items(rest) for p in " ".join(phrase).split(" and ")]:
                words = [w for w in part.split() if w not in DETERMINERS][:4]
                while words and words[-1] in ("it", "them", "this", "that", "him", "her"):
                    words.pop()
                if words and words[0] in _NOT_ELEMENT_START:
                    continue
                text = " ".join(words)
                if (
                    words
                    and is_topic(words)
                    and text != subject
                    and text not in items
                    and text not in NOT_VISUAL
                ):
                    items.append(text)
    return items[:8]


@dataclass(frozen=True)
class Listed:
    """One thing a "show ..." / "shots of ..." list names, as a shot: its words, the camera words said in
    front of the list (or None), the sentence it is from."""

    text: str
    camera: str | None
    unit: Unit


def listed_shots(brief: Brief) -> list[Listed]:
    """The shots a brief lists after a visual cue ("fast tracking shots of the bike gliding past stuck cars, a
    rider smiling at a green light, ..."), in order: the list goes on over commas while an item is a noun
    phrase; a short bare-noun pair ("glass bottles and a city rooftop") is two shots."""
    out: list[Listed] = []
    for u in brief.units:
        m = _VISUAL_CUE.search(u.low)
        if not m or CTA_CUE.search(u.low):
            continue  # "end with the price and the website" is the closing line, not a list of shots
        before = u.low[max(0, m.start() - 40) : m.end()]
        said = SHOT_CAMERA.search(before)
        camera = shot_name(said.group(1)) if said else None
        sentence = re.split(r"[.;:!?]", m.group(1), maxsplit=1)[0]
        for i, piece in enumerate(sentence.split(",")):
            piece = re.sub(r"^\s*(?:and|or|also|plus)\s+", "", piece.strip())
            words = tokens(piece)
            if not words or (i and (words[0] in _BOUNDARY or words[0] in _NOT_ELEMENT_START)):
                break
            parts = [piece]
            first, _, rest = piece.partition(" and ")
            if (
                rest
                and len(first.split()) <= 3
                and first.split()[0] not in DETERMINERS
                and not CAMERA.search(first)
            ):
                parts = [first, rest]
            for part in parts:
                plain = SHOT_CAMERA.sub(" ", part)
                words = [w for w in tokens(plain) if w not in DETERMINERS]
                if words and is_topic(words) and " ".join(words) not in NOT_VISUAL:
                    out.append(Listed(part.strip(), camera, u))
    return out[:10]


def _title(brief: Brief, subject: str | None, style: str | None) -> str | None:
    for u in brief.units:
        m = _TITLE.search(u.low)
        if m:
            words = _phrase(m.group(1), 6)
            if words:
                return title_case(" ".join(words))
    if subject:
        base = title_case(subject)
        return f"{base}: {title_case(style)}" if style else base
    return None


def negatives(brief: Brief) -> list[str]:
    """What the speaker asked not to show ("no people", "avoid neon"): up to four phrases for the negative
    prompts."""
    out: list[str] = []
    for u in brief.units:
        for m in _NEGATIVE_ASK.finditer(u.low):
            rest = re.sub(r"^(?:it to (?:be|look|feel)|to (?:be|look|feel)|it|any|too)\s+", "", m.group(1))
            words = _phrase(rest, 3)
            text = " ".join(words)
            if words and _content(words) and "music" not in words and text not in out:
                out.append(text)
    return out[:4]


def _vibe_lookup(
    table: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...],
    vibe_words: list[str],
    default: tuple[str, ...],
) -> tuple[str, ...]:
    for word in vibe_words:
        for keys, value in table:
            if word in keys:
                return value
    return default


# --------------------------------------------------------------------------- levers the brief decided
_LOOK_CUE = re.compile(
    r"\b(?:look|looks|style|styled|aesthetic|visuals?|visually|shot on|filmed (?:on|in|like)|made in)\b"
)
_SIMILE = re.compile(r"\blike (?:a |an |the )?((?:[a-z-]+ ){0,4}?[a-z-]+)(?=,|\.|$| all\b| with\b| and\b)")
_PACING = (
    (
        "fast",
        re.compile(
            r"\b(?:fast[- ]paced|keep it (?:fast|quick|snappy|punchy)|make it (?:fast|quick|snappy)|quick cuts"
            r"|rapid cuts|fast cuts|snappy edit|fast edit|fast pacing|pacing (?:is|should be) fast)\b"
        ),
    ),
    (
        "slow",
        re.compile(
            r"\b(?:slow[- ]paced|keep it slow|slow pacing|long takes|lingering shots|take (?:its|our) time"
            r"|pacing (?:is|should be) slow|unhurried)\b"
        ),
    ),
)
_HOOK_SAID = (
    ("question", re.compile(r"\b(?:open|start|begin|hook) (?:with|on) (?:a|the) question\b")),
    (
        "statistic",
        re.compile(r"\b(?:open|start|begin|hook) (?:with|on) (?:a|the) (?:stat|statistic|number|figure)\b"),
    ),
    ("bold_claim", re.compile(r"\bbold (?:claim|statement)\b")),
)


def look_terms(brief: Brief) -> list[str]:
    """The look the speaker asked for, in their words and order: style terms (an ambiguous one, "neon", only
    in a sentence about the look) and, in such a sentence, what it is likened to ("like a rainy city at
    night")."""
    found: list[tuple[int, int, str]] = []
    for ui, u in enumerate(brief.units):
        low = re.sub(r"\bcinematic (?:score|music|soundtrack)\b", " ", u.low)
        about_look = _LOOK_CUE.search(low) is not None or any(
            not amb and has_phrase(low, t) for t, _, amb in STYLE_TERMS
        )
        taken: list[tuple[int, int]] = []
        for term, _, ambiguous in STYLE_TERMS:
            if ambiguous and not about_look:
                continue
            m = find_word(low, term)
            if m and not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append(m.span())
                found.append((ui, m.start(), term))
        if about_look:
            for m in _SIMILE.finditer(low):
                words = [w for w in m.group(1).split() if w not in STOPWORDS or w in ("at", "in", "of")]
                if is_topic(words) and not colors.find_colors(m.group(1)):
                    found.append((ui, m.start(), " ".join(m.group(1).split())))
    found.sort()
    out: list[str] = []
    for _, _, t in found:
        if t not in out:
            out.append(t)
    return out[:5]


def stated_levers(brief: Brief, palette_said: bool) -> dict[str, str]:
    """The creative levers the brief decided itself, each with the brief's words: a look (visual_style), a
    palette or a grade (color_treatment), a pace (pacing), a kind of opening (hook_style). The optimizer
    chooses only the others."""
    out: dict[str, str] = {}
    look = look_terms(brief)
    if look:
        out["visual_style"] = ", ".join(look)
    grades = [m.group(0) for t, _ in GRADE_TERMS if (m := bounded(t).search(brief.low))]
    if grades or palette_said:
        said = grades
        out["color_treatment"] = ", ".join(said) if said else "the brief's palette"
    for pace, cue in _PACING:
        if cue.search(brief.low):
            out["pacing"] = pace
            break
    for hook, cue in _HOOK_SAID:
        if cue.search(brief.low):
            out["hook_style"] = hook
            break
    return out


def style_arm(said: str) -> str | None:
    """The visual-style arm a stated look is (documentary, animated, ...), or None for a look of its own."""
    for term, arm, _ in STYLE_TERMS:
        if arm and has_phrase(said, term):
            return arm
    return None


def grade_arm(said: str) -> str | None:
    """The colour-treatment arm a stated grade is ("muted greens" -> muted), or None (a palette)."""
    for term, arm in GRADE_TERMS:
        if bounded(term).search(said):
            return arm
    return None


# --------------------------------------------------------------------------- the context
def read_context(brief: Brief) -> CreativeContext:
    """The creative context: each field as the brief says it, else a default (the field named in `missing`)."""
    missing: list[str] = []

    def need(field: str, value, default):
        if value:
            return value
        missing.append(field)
        return default

    keywords = keyphrases(brief.units, top=10, extra_stop=KEYWORD_STOP)
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
    said_palette = _palette(brief)
    palette = need(
        "color_palette",
        said_palette,
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
        stated_levers=[
            StatedLever(lever=k, said=v) for k, v in stated_levers(brief, bool(said_palette)).items()
        ],
    )
