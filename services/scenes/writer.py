"""Writing the scenes of a local plan: the hook, the beats in the order the speaker described them and the
call to action, each a Scene with its camera, duration, transition and start and end frame prompts in the
variant's words (vocabulary.py). Deterministic: every choice is a lookup or a cycle over the scene index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyreel.services.brief.textkit import Unit, keyphrases, tokens
from storyreel.services.brief.vocab import CTA_CUE, CTA_PHRASE, planned_duration, statistic_in
from storyreel.services.scenes.reading import (
    CAMERA,
    DETERMINERS,
    KEYWORD_STOP,
    PLACE,
    PLACE_WORDS,
    SETTING,
    Brief,
    grade_arm,
    has_phrase,
    is_beat,
    is_topic,
    listed_shots,
    negatives,
    style_arm,
    title_case,
)
from storyreel.services.scenes.shots import META_TAIL as SAID_TAIL
from storyreel.services.scenes.shots import Described, describe
from storyreel.services.scenes.vocabulary import (
    BASE_NEGATIVE,
    CTA_WEIGHT,
    DEFAULT_CTA,
    DETAIL_ANGLES,
    ENDING,
    GRADE,
    GRADE_NEGATIVE,
    HOOK_WEIGHT,
    LOOK,
    MOVES,
    SHOT_LADDER,
    SHOT_SECONDS,
    SHOTS,
    STYLE_NEGATIVE,
    TRANSITIONS,
)
from storyreel.shared import colors
from storyreel.shared.contracts import CreativeContext, Frame, Scene, ScenePlan

# --------------------------------------------------------------------------- cues
# A sentence that opens the video ("open with ...", "the hook is ...").
_HOOK = re.compile(
    r"\b(?:open(?:s|ing)? (?:with|on|up with)|start(?:s|ing)? (?:with|on|off)|begin(?:s|ning)? (?:with|on)"
    r"|kick(?:s|ing)? off|first (?:shot|scene|frame|thing)|opening (?:shot|scene|line)|hook (?:is|with|on|shows?)"
    r"|cold open|(?:scene|shot|frame) (?:1|one))\b"
)
# The instruction words before what a beat shows ("then we see ...", "end with a shot of ...").
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
# A camera move the speaker named.
_MOVE = re.compile(
    r"\b(zoom(?:s|ing)? in|zoom(?:s|ing)? out|pan(?:s|ning)? (?:left|right|across|over)|push(?:es|ing)? in|pull(?:s|ing)? (?:back|out)|orbit|tilt(?:s|ing)? (?:up|down))\b"
)
# A trailing remark about the music, mood or colours ("... with some lo-fi music").
_META_TAIL = re.compile(
    r"\s+\b(?:with )?(?:some |a )?(?:\w+ ){0,2}(?:music|soundtrack|vibe|mood|colou?rs?|palette)\b.*$"
)


def _sentence_case(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- scene writing
@dataclass
class _Slot:
    role: str  # hook | beat | detail | cta
    unit: Unit | None
    element: str | None = None
    # the beats a merged scene spans: its start frame shows the first, its end the last
    parts: tuple[Unit, ...] = ()
    angle: int = 0  # the how-manieth extra shot of the same beat (picks DETAIL_ANGLES)
    shown: Described | None = None  # what a scene the speaker described shows, in prompt language
    end_shown: Described | None = None  # a merged scene's last part (its end frame)


class SceneWriter:
    """One plan's writer: the brief, its context and a resolved variant in; `plan(n)` writes the n scenes."""

    def __init__(self, brief: Brief, context: CreativeContext, variant: dict[str, str]) -> None:
        self.brief = brief
        self.ctx = context
        self.v = variant
        self.pacing = variant["pacing"]
        self.style = variant["visual_style"]
        self.palette_names = [colors.name_of(p) for p in context.color_palette][:5]
        self.negatives = negatives(brief)
        place = PLACE.search(brief.low)
        self.place = place.group(1) if place else None  # the brief's overall setting, if it named one
        # what the brief decided itself wins over the optimizer's arm (context.stated_levers)
        stated = context.stated()
        said_look = stated.get("visual_style")
        arm = style_arm(said_look) if said_look else None
        if arm:
            self.style = arm
        self.look = _stated_look(said_look, arm) if said_look else LOOK[self.style]
        self.style_negative = STYLE_NEGATIVE[self.style] if (arm or not said_look) else ""
        said_grade = stated.get("color_treatment")
        grade = grade_arm(said_grade) if said_grade else None
        self.grade_name = grade or (None if said_grade else variant["color_treatment"])
        self.grade = GRADE[self.grade_name] if self.grade_name else ""
        self.grade_negative = GRADE_NEGATIVE[self.grade_name] if self.grade_name else ""
        if stated.get("pacing") in SHOT_SECONDS:
            self.pacing = stated["pacing"]
        self.hook_style = stated.get("hook_style") or variant["hook_style"]
        self.v = {
            **variant,
            "visual_style": self.style,
            "pacing": self.pacing,
            "hook_style": self.hook_style,
            **({"color_treatment": self.grade_name} if self.grade_name else {}),
        }

    # ---- structure: the scenes the speaker enumerated or listed, else hook -> beats -> call to action
    def _structure(self, n: int) -> list[_Slot]:
        if self.brief.items:
            return self._from_items(n)
        listed = listed_shots(self.brief)
        if listed:
            return self._from_list(n, listed)
        return self._from_beats(n)

    def _from_items(self, n: int) -> list[_Slot]:
        """The enumerated scenes are the scenes, in their order: the first opens the video, a last one with
        call-to-action words closes it."""
        items = self.brief.items
        slots: list[_Slot] = []
        person: str | None = None
        for item in items:
            shown = describe(item.text, person, seen=item.marker in ("we see", "you see"))
            person = shown.person
            unit = Unit(item.said, item.said.lower(), item.unit.start, item.unit.end, item.unit.speaker)
            slots.append(_Slot("beat", unit, shown=shown))
        cta = slots.pop() if _is_cta(items[-1].text) and len(slots) > 2 else None
        if cta is None:
            cta = self._closing_line({id(item.unit) for item in items})
        opening = bool(_HOOK.search(items[0].marker))
        return self._fit(slots, cta, n, opening)

    def _closing_line(self, taken: set[int]) -> _Slot | None:
        """The brief's call to action said outside its scenes ("ask people to book now"), as the last scene."""
        unit = next(
            (u for u in reversed(self.brief.beats) if CTA_CUE.search(u.low) and id(u) not in taken), None
        )
        if unit is None or any(u.low in unit.low or unit.low in u.low for u in self._item_units()):
            return None
        return _Slot("cta", unit, shown=describe(unit.text))

    def _item_units(self) -> list[Unit]:
        return [item.unit for item in self.brief.items]

    def _from_list(self, n: int, listed: list) -> list[_Slot]:
        """The shots a "show ..." list named are the scenes, in its order; the brief's closing line (if any)
        is the call to action."""
        slots = []
        for item in listed:
            shown = describe(item.text)
            camera = shown.shot or item.camera
            if (
                camera
                and camera in ("close-up", "extreme close-up")
                and any(w in PLACE_WORDS for w in tokens(shown.what))
            ):
                camera = "wide shot"  # a place ("city rooftop") is shown whole, not in close-up
            shown = Described(shown.what, camera, shown.person)
            slots.append(_Slot("beat", Unit(item.text, item.text.lower()), shown=shown))
        cta = self._closing_line({id(item.unit) for item in listed})
        return self._fit(slots, cta, n, opening=False)

    def _fit(self, slots: list[_Slot], cta: _Slot | None, n: int, opening: bool) -> list[_Slot]:
        """The speaker's scenes fitted to n: merged in order when there are more, else (in this order) a hook
        on the subject in front, the call to action, then detail shots of the scenes."""
        room = n - (1 if cta else 0)
        if len(slots) > room:
            head = slots[:1] if opening else []
            rest = slots[1:] if opening else slots
            groups = _groups(rest, room - len(head))
            slots = [*head, *(_merged(g) for g in groups)]
        if cta is not None:
            cta.role = "cta"
        out = [*slots, *([cta] if cta else [])]
        if len(out) < n and not opening:
            out.insert(0, self._subject_hook())
        else:
            out[0].role = "hook"
        if len(out) < n and cta is None:
            out.append(_Slot("cta", None))
        if len(out) < n:
            out = self._details(out, n)
        return out

    def _subject_hook(self) -> _Slot:
        unit = next((u for u in self.brief.units if has_phrase(u.low, self.ctx.subject)), None)
        return _Slot("hook", unit)

    def _details(self, slots: list[_Slot], n: int) -> list[_Slot]:
        """Extra shots after the speaker's scenes until there are n: the visual elements no scene shows yet
        first, then other angles of each scene in turn."""
        shown_text = " ".join(s.shown.what for s in slots if s.shown)
        shown_words = set(tokens(shown_text))
        spare = [
            e
            for e in self.ctx.visual_elements
            if not has_phrase(shown_text, _strip_det(e))
            and is_topic(tokens(e), places=False)
            and sum(w in shown_words for w in tokens(e)) * 3 < 2 * len(tokens(e))  # not a scene said again
        ]
        bases = [s for s in slots if s.role == "beat" and s.shown] or [s for s in slots if s.shown]
        if not bases:
            bases = [s for s in slots if s.role != "cta"][:1]
        out = list(slots)
        i = 0
        while len(out) < n:
            base = bases[i % len(bases)]
            element = spare[i] if i < len(spare) else None
            angle = sum(1 for s in out if s.role == "detail" and s.element is None and s.shown is base.shown)
            extra = _Slot("detail", base.unit, element, angle=angle, shown=None if element else base.shown)
            at = out.index(base) + 1
            while at < len(out) and out[at].role == "detail":
                at += 1
            out.insert(at, extra)
            i += 1
        return out

    def _from_beats(self, n: int) -> list[_Slot]:
        beats = self.brief.beats
        hook = next((u for u in beats if _HOOK.search(u.low) and not CTA_CUE.search(u.low)), None)
        cta = next((u for u in reversed(beats) if CTA_CUE.search(u.low) and u is not hook), None)
        middle = [u for u in beats if u is not hook and u is not cta and is_beat(u)]
        if hook is None:
            # no explicit opening: the hook grows out of the sentence that names the subject
            hook = next((u for u in self.brief.units if has_phrase(u.low, self.ctx.subject)), None)
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
            if not has_phrase(used, _strip_det(e)) and is_topic(tokens(e), places=False)
        ]
        if not middle:
            # keywords are topics only when they name something to film: not the mood ("cozy"), the audience
            # ("beginners"), a bare place ("home", the setting is added to every prompt) or the platform
            filmable = " . ".join(u.low for u in self.brief.units if is_beat(u))
            keywords = [
                k
                for k in self.ctx.keywords
                if has_phrase(filmable, k)
                and k not in spare
                and k != self.ctx.subject
                and not has_phrase(self.ctx.subject, k)
                and is_topic(tokens(k), places=False)
                and not has_phrase(self.ctx.target_audience.lower(), k)
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
            }[self.hook_style]
        elif slot.role == "cta":
            shot = "medium shot"
        elif slot.role == "detail" and slot.element and any(w in PLACE_WORDS for w in tokens(slot.element)):
            shot = "wide shot"  # a place ("city rooftop") is shown whole, not in close-up
        elif slot.role == "detail":
            shot = "close-up" if index % 2 else "extreme close-up"
        else:
            shot = SHOTS[(index - 2) % len(SHOTS)]
        said = CAMERA.search(low) if slot.shown is None else None
        if said:
            word = said.group(1).replace("closeup", "close-up").replace("close up", "close-up")
            shot = word if "shot" in word or "close" in word else f"{word} shot"
        if slot.shown is not None and slot.shown.shot and slot.role != "detail":
            shot = slot.shown.shot
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
        if slot.shown is not None and slot.role == "detail":
            return DETAIL_ANGLES[slot.angle % len(DETAIL_ANGLES)][1].format(a=slot.shown.what)
        if slot.shown is not None:
            return slot.shown.what or self._subject_np()
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
        text = CAMERA.sub(" ", text)
        text = _META_TAIL.sub("", text) if len(text.split()) > 3 else text
        text = re.sub(r"\s+", " ", text).strip(" ,.")
        text = re.sub(r"(?:\s+(?:as|with|in|of|and|a|an|the|to))+$", "", text)  # left dangling by a cut
        words = text.split()
        while words and words[0] in DETERMINERS - {"our", "my", "your", "their"} | {"of", "and"}:
            words.pop(0)
        return " ".join(words[:18]) or self.ctx.subject

    def _elements_for(self, index: int, action: str) -> list[str]:
        """One visual element for the frame that its action does not already show (none if it shows one)."""
        elems = [e for e in self.ctx.visual_elements if e != self.ctx.subject]
        plain = _strip_det(action)
        if any(has_phrase(plain, _strip_det(e)) for e in elems):
            return []
        unused = [e for e in elems if not has_phrase(plain, _strip_det(e))]
        return [unused[(index - 1) % len(unused)]] if unused else []

    def _subject_np(self) -> str:
        """The subject as the speaker said it, with their determiner ("our new oat milk latte")."""
        m = re.search(
            rf"\b(our|my|your|their|the|this|a|an)\s+{re.escape(self.ctx.subject)}\b", self.brief.low
        )
        if not m:
            return self.ctx.subject
        det = (
            "the" if m.group(1) in ("our", "my", "your") else m.group(1)
        )  # prompts speak in the third person
        return f"{det} {self.ctx.subject}"

    def _hook_line(self, unit: Unit | None) -> str:
        subject = self._subject_np()
        intent = self.ctx.intent
        style = self.hook_style
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
                started = re.sub(r"^(?:a|an|the)\s+", "", self._action(_Slot("hook", unit)))
                return f"It started with {started}."
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
        # the speaker's own scenes show what they said; a shot the writer adds carries one visual element
        elements = self._elements_for(index, action) if slot.shown is None else []
        subject_bit = ""
        elems_bit = f", with {_join(elements)}" if elements else ""
        palette = f"color palette: {', '.join(self.palette_names)}" if self.palette_names else ""
        tail = ", ".join(x for x in (f"{ctx.vibe} mood", self.look, self.grade, palette) if x)
        hook_style = self.hook_style.replace("_", " ")

        end_action = action
        if slot.role == "beat" and slot.end_shown is not None:
            end_action = slot.end_shown.what
        elif slot.role == "beat" and len(slot.parts) > 1:
            action, end_action = self._clause_action(slot.parts[0]), self._clause_action(slot.parts[-1])
        if slot.role == "hook":
            # space for the hook's text, not the text: image models garble lettering (the line is plan.hook)
            overlay = {
                "question": "clean space for an on-screen question",
                "bold_claim": "clean space for a bold headline",
                "story": "establishing the place and the person the story follows",
                "statistic": "clean space for a large on-screen figure",
            }[self.hook_style]
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
            title = f"Call to action: {title_case(cta_text[:40])}"
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
        said_look = self.ctx.stated().get("visual_style")
        look_note = (
            f"{_sentence_case(said_look)} look (as the brief asks)"
            if said_look
            else f"{_sentence_case(self.style)} look"
        )
        grade_note = f"{self.grade_name} grade" if self.grade_name else "the brief's own colours"
        description = f"{what}. {_sentence_case(cut_text)} over {duration:g} s; camera {camera}. {look_note}, {grade_note}."
        negative = ", ".join(
            x for x in [BASE_NEGATIVE, self.style_negative, self.grade_negative, *self.negatives] if x
        )
        said = SETTING.search(action.lower())
        own_place = slot.shown is not None and any(w in PLACE_WORDS for w in tokens(action))
        setting = said.group(1) if said else (None if own_place else self.place)
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
        if slot.shown is not None:
            said = re.sub(r"[.!?]+$", "", slot.unit.low)
            said = SAID_TAIL.sub("", said) if len(said.split()) > 3 else said  # "... upbeat pop music"
            line = _CTA_LINE.search(said)
            phrase = CTA_PHRASE.search(said)
            shown = _CTA_LINE.sub("", action).strip(" ,")
            if phrase and not line:
                shown = CTA_PHRASE.split(shown, maxsplit=1)[0]
                shown = re.sub(r"(?:^|\s+)(?:and )?(?:say|ask|tell)\b.*$", "", shown).strip(" ,")
            shown = shown or self._subject_np()
            if line:
                return " ".join(line.group(1).split()[:8]), shown
            if phrase:
                return " ".join(said[phrase.start() :].split()[:8]), shown
            return shown, shown
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
            return f"Detail: {title_case(slot.element)}"
        if slot.role == "detail" and slot.unit is not None:
            base = self._phrase_title(_Slot("beat", slot.unit), self._clause_action(slot.unit))
            return f"{base} ({DETAIL_ANGLES[slot.angle % len(DETAIL_ANGLES)][0]})"
        picked = keyphrases([Unit(action, action.lower())], top=1, extra_stop=KEYWORD_STOP)
        text = picked[0] if picked else " ".join(action.split()[:4])
        return title_case(text) or title_case(self.ctx.subject)

    def plan(self, n: int) -> ScenePlan:
        slots = self._structure(n)
        durations = self._durations(slots)
        hook_line = self._hook_line(slots[0].unit)
        scenes = [
            self._scene(i, n, slot, durations[i - 1], hook_line) for i, slot in enumerate(slots, start=1)
        ]
        return ScenePlan(scenes=scenes, variant=dict(self.v), hook=hook_line)


def _strip_det(text: str) -> str:
    return " ".join(w for w in tokens(text) if w not in DETERMINERS)


def _merge(units: list[Unit]) -> Unit:
    if len(units) == 1:
        return units[0]
    return Unit(
        "; ".join(u.text for u in units), " ; ".join(u.low for u in units), units[0].start, units[-1].end
    )


def _is_cta(text: str) -> bool:
    """A scene that closes on a call to action: its words ("link in bio", "shop now") or a line to show."""
    low = text.lower()
    return bool(CTA_PHRASE.search(low) or _CTA_LINE.search(low))


_CTA_LINE = re.compile(
    r"\b(?:with|and) (?:the |a )?(?:line|tagline|text|caption|slogan|words)\b(?: saying)?\s+(.+)$"
)


def _groups(slots: list[_Slot], k: int) -> list[list[_Slot]]:
    """Contiguous groups, the earlier ones one larger."""
    k = max(1, k)
    size, extra = divmod(len(slots), k)
    out, i = [], 0
    for g in range(k):
        take = size + (1 if g < extra else 0)
        if take:
            out.append(slots[i : i + take])
        i += take
    return out


def _merged(group: list[_Slot]) -> _Slot:
    """Scenes merged into one: the start frame shows the first, the end frame the last."""
    if len(group) == 1:
        return group[0]
    units = [s.unit for s in group if s.unit is not None]
    return _Slot(
        "beat",
        _merge(units),
        parts=tuple(units),
        shown=group[0].shown,
        end_shown=group[-1].shown,
    )


def _stated_look(said: str, arm: str | None) -> str:
    """The look the brief asked for in prompt words: the arm's look words with what else was said
    ("documentary style, natural light, handheld realism, ..."), or the brief's own ("neon, rainy city at night
    look")."""
    if arm:
        extra = [t.strip() for t in said.split(",") if t.strip() and t.strip() not in LOOK[arm]]
        return ", ".join([LOOK[arm], *extra])
    terms = [t.strip() for t in said.split(",") if t.strip()]
    tail = terms[-1]
    if not re.search(r"\b(?:look|style|light|lighting|space|daylight|grain)$", tail):
        terms[-1] = f"{tail} look" if len(terms) == 1 else tail
        terms[0] = f"{terms[0]} look" if len(terms) > 1 else terms[0]
    return ", ".join(terms)
