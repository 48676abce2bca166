"""A scene the speaker described, rewritten as what the camera sees, in prompt language.

"Then she opens Shiftly on her laptop and drags shifts onto a calendar" becomes "the manager opening shiftly
on her laptop and dragging shifts onto a calendar": the instruction words ("then", "we see", "open with",
"show"), the camera words (kept apart as the shot size), first-person words ("we", "our") and trailing remarks
about music or mood are cut; a pronoun subject is the person of the scene before; the clause's verb becomes a
participle (only verbs of lexicon.ACTION_VERBS, after a determiner-led noun phrase, so "apple slices" stays a
noun); the result is cut at a phrase boundary to a shot's length.

Pure functions; no network, no randomness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyreel.services.brief.lexicon import ACTION_VERBS, AUDIENCE_NOUNS, words

MAX_WORDS = 16  # words a shot's description may have (commas not counted)

# The instruction words in front of what a scene shows.
LEAD = re.compile(
    r"^(?:(?:then|and then|and|after that|afterwards|next|finally|lastly|last|first|so|also|maybe|please|is"
    r"|would be|will be)\s+)*"
    r"(?:(?:i|we) (?:want to|wanna|would|will|can|should|could|need to|'d like to|would like to|'d love to"
    r"|would love to)\s+)?"
    r"(?:(?:i|we|you) (?:want|see|show|get|have|film|shoot|'ll see|will see|would love|'d love|love)\s+)?"
    r"(?:(?:open(?:s|ing)?|start(?:s|ing)?|begin(?:s|ning)?|kick(?:s|ing)? off|end(?:s|ing)?|clos(?:e|es|ing)"
    r"|finish(?:es|ing)?|wrap(?:s|ping)? up) (?:it |the video )?(?:with|on|in|at|up with|off with)?\s*)?"
    r"(?:show(?:s|ing)?|cut to|we see|you see|there'?s|there is|let'?s see|film|shoot|reveal)?\s*"
)
# The camera words a speaker may put in a scene: kept apart as the shot, cut out of what is seen.
CAMERA = re.compile(
    r"(?:\b(?:a|an|the|some)\s+)?(?:(?:fast|slow|quick|big|final|nice|lots of)\s+)*"
    r"\b(extreme close[- ]?ups?|close[- ]?ups?|wide shots?|wide angle|aerial(?: shots?)?|drone shots?"
    r"|overhead(?: shots?)?|top[- ]down(?: shots?)?|slow motion|time[- ]?lapse|pov(?: shots?)?|point of view"
    r"|tracking shots?|handheld shots?|macro(?: shots?)?|medium shots?|establishing shots?)\b"
    r"(?:\s+(?:shots?|footage))?(?:\s+of\b)?"
)
_FIRST_PERSON_LEAD = re.compile(r"^(?:we|i|you)\s+(?:(?:can|will|could|would|should|then|also|just)\s+)*")
_POSSESSIVE = re.compile(r"\b(?:our|my|your)\b")
META_TAIL = re.compile(
    r"(?:,\s*|\s+)(?:with |and )?(?:some |a |an )?(?:[\w-]+ ){0,2}(?:music|soundtrack|song|vibe|mood|colou?rs?"
    r"|palette)\b.*$"
)
_SAY_TAIL = re.compile(r"\s+(?:and )?(?:say|ask|tell|saying|asking)\b.*$")
_DANGLING = ("and", "with", "of", "the", "a", "an", "to", "as", "in", "on", "at", "by", "or", "for", "from")
DETERMINERS = ("a", "an", "the", "this", "that", "these", "those", "some", "one", "two", "three")
_PREPOSITIONS = words(
    "of in on at by with from to into onto over under past through across behind near next around for against"
    " between beside along"
)
PERSON_NOUNS = words(
    "man woman girl boy child kid toddler baby dad mom mum father mother baker chef barista runner rider nurse"
    " manager owner customer guest host hosts dj student teacher developer developers speaker volunteer"
    " volunteers family couple friend friends crowd team worker doctor athlete player dancer singer artist"
    " model people person guests"
) | frozenset(AUDIENCE_NOUNS)
_DEFAULT_PERSON = {"she": "a woman", "he": "a man", "they": "people"}


@dataclass(frozen=True)
class Described:
    """What one scene shows: `what` in prompt language, the shot size the speaker said (or None), and the
    person in it (for the next scene's "she", "he", "they")."""

    what: str
    shot: str | None
    person: str | None


def participle(base: str) -> str:
    """The -ing form of a base verb: "spin" -> "spinning", "glide" -> "gliding", "high-five" -> "high-fiving"."""
    if base in ("be", "see", "ski", "flee"):
        return base + "ing"
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        return base[:-1] + "ing"
    groups = re.findall(r"[aeiou]+", base.split("-")[-1])
    if (
        len(groups) == 1
        and re.search(r"[^aeiou][aeiou][^aeiouwxy]$", base)
        and not re.search(r"[aeiou]{2}[^aeiou]$", base)
    ):
        return base + base[-1] + "ing"
    return base + "ing"


def verb_base(word: str) -> tuple[str, bool] | None:
    """(base form, was a third-person -s form) for a word of ACTION_VERBS in either form, else None."""
    if word in ACTION_VERBS:
        return word, False
    if word == "does":
        return "do", True
    for cut, add in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(cut) and word[: -len(cut)] + add in ACTION_VERBS:
            return word[: -len(cut)] + add, True
    return None


def to_participles(words: list[str], seen: bool = False) -> list[str]:
    """Each clause's main verb (and the verbs coordinated with it) as a participle: "a runner sprints past" ->
    "a runner sprinting past"; a clause is the item's start or what follows "and" / "while" / a comma."""
    out = list(words)
    starts = [0] + [i + 1 for i, w in enumerate(words) if w in ("and", "while", ",")]
    for s in starts:
        if s >= len(out):
            continue
        first = verb_base(out[s])
        if (
            s == 0
            and first
            and not first[1]
            and s + 1 < len(out)
            and out[s + 1] in (*DETERMINERS, "it", "them")
        ):
            out[s] = participle(first[0])  # "strain it through a filter" (the "we" already cut)
            _coordinated(out, s + 1)
            continue
        j = s + 1 if out[s] in DETERMINERS else s
        for k in range(j, min(j + 5, len(out))):
            w = out[k]
            if w in _PREPOSITIONS or w in ("and", ",", "who", "that", "while"):
                break
            found = verb_base(w)
            if found is None or k == j:
                continue
            base, third = found
            plural_subject = out[k - 1].endswith("s") and not third
            # after "we see", a bare verb is the thing seen happening ("we see the messy dog arrive")
            # after "two", "three", "these", "some" a word in -s is a plural noun ("two apple slices")
            singular = out[s] not in ("two", "three", "these", "those", "some")
            if (
                (third and singular and (out[s] in DETERMINERS or s > 0))
                or plural_subject
                or (seen and not third)
            ):
                out[k] = participle(base)
                _coordinated(out, k + 1)
            break
    return out


def _coordinated(out: list[str], i: int) -> None:
    """`... and drags shifts`: a verb right after "and" that follows a converted verb's object."""
    for k in range(i, min(i + 8, len(out) - 1)):
        if out[k] == "and":
            found = verb_base(out[k + 1])
            if found and (found[1] or k + 1 == len(out) - 1):
                out[k + 1] = participle(found[0])
            return


def person_in(what: str) -> str | None:
    """The first person in a shot, for the next scene's pronoun ("an hr manager stares ..." -> "the manager")."""
    words = what.split()
    for i, w in enumerate(words[:6]):
        if w in PERSON_NOUNS:
            np = [x for x in words[: i + 1] if x not in DETERMINERS]
            if any(x in _PREPOSITIONS or x in ("and", ",") or x.endswith("ing") for x in np):
                return None
            return f"the {w}"  # the head noun: "the manager", not "the tired hr manager" again
    return None


def _trim(words: list[str]) -> list[str]:
    """At most MAX_WORDS words, cut at the last phrase boundary before the limit."""
    counted = [i for i, w in enumerate(words) if w != ","]
    if len(counted) > MAX_WORDS:
        limit = counted[MAX_WORDS]
        cut = max(
            (i for i, w in enumerate(words[: limit + 1]) if w in ("and", "with", "as", "while", ",")),
            default=limit,
        )
        words = words[: cut if cut >= 4 else limit]
    while words and words[-1] in (*_DANGLING, ","):
        words = words[:-1]
    return words


def describe(text: str, person: str | None = None, seen: bool = False) -> Described:
    """One scene's words as a shot; `person` is the previous scene's, for a pronoun subject; `seen`: the
    words followed "we see" (a bare verb there is an action: "the dog arrive")."""
    low = text.lower().replace("\u2019", "'")
    low = re.sub(r"[\"!?;:()]", " ", low)
    low = re.sub(r"\bclose up", "close-up", low)
    low = LEAD.sub("", low.strip(" ,."), count=1)
    shot = None
    m = CAMERA.search(low)
    if m:
        shot = shot_name(m.group(1))
        low = CAMERA.sub(" ", low)
    low = _FIRST_PERSON_LEAD.sub("", low.strip(" ,."))
    low = LEAD.sub("", low.strip(" ,."), count=1)  # "a close-up of ..." can come before "we see"
    low = _POSSESSIVE.sub("the", low)
    low = _SAY_TAIL.sub("", low)
    if len(low.split()) > 3:
        low = META_TAIL.sub("", low)
    low = re.sub(r"\s*,\s*", " , ", low)
    words = [w for w in low.split() if w]
    while words and words[0] in (",", "and", "of"):
        words.pop(0)
    if words and words[0] in _DEFAULT_PERSON:
        words = (person or _DEFAULT_PERSON[words[0]]).split() + words[1:]
    words = _trim(to_participles(words, seen))
    what = re.sub(r"\s+,", ",", " ".join(words)).strip(" ,")
    return Described(what=what, shot=shot, person=person_in(what) or person)


def shot_name(said: str) -> str:
    said = re.sub(r"s$", "", said.replace("close up", "close-up").replace("closeup", "close-up"))
    said = said.replace("shot", "").strip()
    names = {
        "close-up": "close-up",
        "extreme close-up": "extreme close-up",
        "macro": "macro shot",
        "overhead": "overhead shot",
        "top-down": "top-down shot",
        "top down": "top-down shot",
        "aerial": "aerial shot",
        "drone": "aerial shot",
        "wide": "wide shot",
        "wide angle": "wide shot",
        "medium": "medium shot",
        "establishing": "wide establishing shot",
        "tracking": "tracking shot",
        "handheld": "handheld shot",
        "pov": "pov shot",
        "point of view": "pov shot",
        "slow motion": "slow-motion shot",
        "time lapse": "time-lapse shot",
        "time-lapse": "time-lapse shot",
        "timelapse": "time-lapse shot",
    }
    return names.get(said, f"{said} shot")
