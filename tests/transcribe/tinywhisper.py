"""A tiny Whisper made at test time: random weights, built from a config (d_model 64, one layer each side),
with a tokenizer built here from bytes (nothing downloaded), converted to CTranslate2 by ctranslate2's
TransformersConverter. Its text is garbage; its shapes, vocabulary and files are a real multilingual Whisper's,
so faster-whisper loads it and every step of decoding, language detection, VAD and word timing runs.

Vocabulary laid out as Whisper's multilingual one: 50257 text tokens, <|endoftext|>, <|startoftranscript|>, 99
language tokens, the task and control tokens, then 1501 timestamps (51865 in all)."""

from __future__ import annotations

import json
from pathlib import Path

# Whisper's 99 languages, in its order (the language token ids follow it).
LANGUAGES = [
    "en",
    "zh",
    "de",
    "es",
    "ru",
    "ko",
    "fr",
    "ja",
    "pt",
    "tr",
    "pl",
    "ca",
    "nl",
    "ar",
    "sv",
    "it",
    "id",
    "hi",
    "fi",
    "vi",
    "he",
    "uk",
    "el",
    "ms",
    "cs",
    "ro",
    "da",
    "hu",
    "ta",
    "no",
    "th",
    "ur",
    "hr",
    "bg",
    "lt",
    "la",
    "mi",
    "ml",
    "cy",
    "sk",
    "te",
    "fa",
    "lv",
    "bn",
    "sr",
    "az",
    "sl",
    "kn",
    "et",
    "mk",
    "br",
    "eu",
    "is",
    "hy",
    "ne",
    "mn",
    "bs",
    "kk",
    "sq",
    "sw",
    "gl",
    "mr",
    "pa",
    "si",
    "km",
    "sn",
    "yo",
    "so",
    "af",
    "oc",
    "ka",
    "be",
    "tg",
    "sd",
    "gu",
    "am",
    "yi",
    "lo",
    "uz",
    "fo",
    "ht",
    "ps",
    "tk",
    "nn",
    "mt",
    "sa",
    "lb",
    "my",
    "bo",
    "tl",
    "mg",
    "as",
    "tt",
    "haw",
    "ln",
    "ha",
    "ba",
    "jw",
    "su",
]
TEXT_TOKENS = 50257
TIMESTAMPS = 1501


def build(out: Path, seed: int = 0) -> Path:
    """The CTranslate2 model folder (model.bin, config.json, vocabulary.json, tokenizer.json,
    preprocessor_config.json) under `out`."""
    import torch
    from ctranslate2.converters import TransformersConverter
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizerFast,
    )

    hf = out / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    while len(vocab) < TEXT_TOKENS:
        vocab[f"tok{len(vocab)}"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in LANGUAGES),
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nocaptions|>",
        "<|notimestamps|>",
    ]
    tok.add_special_tokens([AddedToken(s, special=True) for s in specials])
    tok.save(str(hf / "tokenizer.json"))
    WhisperTokenizerFast(
        tokenizer_file=str(hf / "tokenizer.json"),
        unk_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    ).save_pretrained(hf)
    eot = tok.token_to_id("<|endoftext|>")
    config = WhisperConfig(
        vocab_size=tok.get_vocab_size() + TIMESTAMPS,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=tok.token_to_id("<|startoftranscript|>"),
        eos_token_id=eot,
        pad_token_id=eot,
        bos_token_id=eot,
    )
    torch.manual_seed(seed)
    WhisperForConditionalGeneration(config).save_pretrained(hf)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(hf)

    ct2 = out / "ct2"
    TransformersConverter(str(hf), copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
        str(ct2), quantization="int8", force=True
    )
    # What the converter reads from a hub checkpoint's generation config, which this one does not have: the
    # language token ids (language detection) ...
    cfg = json.loads((ct2 / "config.json").read_text())
    cfg["lang_ids"] = [tok.token_to_id(f"<|{code}|>") for code in LANGUAGES]
    (ct2 / "config.json").write_text(json.dumps(cfg))
    # ... and the empty-string token a multilingual Whisper vocabulary holds (CTranslate2 tells multilingual
    # models by it: models/whisper.cc). One unused text token becomes it.
    words = json.loads((ct2 / "vocabulary.json").read_text())
    words[300] = ""
    (ct2 / "vocabulary.json").write_text(json.dumps(words))
    return ct2
