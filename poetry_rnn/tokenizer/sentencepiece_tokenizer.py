"""SentencePiece pieces behind the common tokenizer interface (`poetry_rnn.tokenizer.base.BaseTokenizer`).

The SentencePiece model (BPE) learns from single lines, never whole poems, and line punctuation
`，。？！；` is a user-defined symbol of its own, which no piece can contain or cross: so no piece crosses a
line end. The vocabulary is ours: the special pieces first (the same ids as every tokenizer), then the
punctuation, then SentencePiece's pieces (its own `<unk> <s> </s>` left out: it never writes them). No
normalisation (`identity`) and no dummy prefix, so text comes back exactly as it went in.

Characters too rare for a piece of their own are written as UTF-8 byte pieces (`<0xE4>`…), so nothing
becomes `<unk>`. A byte piece covers no whole character: `piece_chars` is "" for it, as for special
pieces, and `byte_ids` lists them; a decoder that places pieces by the characters they cover must leave
byte pieces out (an empty piece would advance no position). Whitespace also goes to byte pieces (BPE
would turn it into `▁`).

Files: `tokenizer.json` (kind, pieces, model file name and its SHA-256) and `sentencepiece.model`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.script import normalize_variants
from poetry_rnn.tokenizer.base import (
    PUNCTUATION,
    SPECIALS,
    TOKENIZER_FILE,
    BaseTokenizer,
    source_tags,
    trailing_sources,
)

# fewer pieces cannot hold the specials, the punctuation and the 256 byte pieces with room for characters
MIN_VOCAB_SIZE = 512
MODEL_FILE = "sentencepiece.model"
_WHITESPACE = re.compile(r"(\s+)")
_LINE_BREAK = re.compile(rf"[{PUNCTUATION}\s]+")


class SentencePieceTokenizer(BaseTokenizer):
    kind = "sentencepiece"

    def __init__(self, model_proto: bytes, sources: Sequence[str] = ()):
        import sentencepiece

        try:
            processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        except (RuntimeError, TypeError, ValueError) as error:
            raise UserError(f"not a SentencePiece model ({error})", field="tokenizer") from None
        pieces = [*SPECIALS, *PUNCTUATION]
        sp_to_ours: list[int] = []
        byte_values: dict[int, int] = {}
        for sp_id in range(processor.get_piece_size()):
            piece = processor.id_to_piece(sp_id)
            if processor.is_unknown(sp_id):
                sp_to_ours.append(1)  # <unk>: SPECIALS[1]
            elif processor.is_control(sp_id):
                sp_to_ours.append(-1)  # <s>, </s>: never produced by encode
            elif piece in PUNCTUATION:
                sp_to_ours.append(len(SPECIALS) + PUNCTUATION.index(piece))
            else:
                if processor.is_byte(sp_id):
                    byte_values[len(pieces)] = int(piece[3:-1], 16)  # "<0xE4>"
                sp_to_ours.append(len(pieces))
                pieces.append(piece)
        super().__init__([*pieces, *source_tags(sources)])
        self.model_proto = bytes(model_proto)
        self._processor = processor
        self._sp_to_ours = sp_to_ours
        self._byte_values = byte_values
        self._byte_ids_by_value = {value: ours for ours, value in byte_values.items()}
        self.byte_ids = frozenset(byte_values)

    # ------------------------------------------------------------ encoding

    def piece_chars(self, piece_id: int) -> str:
        """The characters a piece covers: "" for special and byte pieces."""
        if piece_id in self.special_ids or piece_id in self._byte_values:
            return ""
        return self.pieces[piece_id]

    def encode(self, text: str) -> list[int]:
        return self.encode_many([text])[0]

    def encode_many(self, texts: list[str]) -> list[list[int]]:
        texts = [normalize_variants(text) for text in texts]
        # Rare: text with whitespace, which SentencePiece would write as "▁"; encoded apart.
        spaced = {i: text for i, text in enumerate(texts) if _WHITESPACE.search(text)}
        plain = [("" if i in spaced else text) for i, text in enumerate(texts)]
        sp_to_ours = self._sp_to_ours
        out = [[sp_to_ours[i] for i in ids] for ids in self._processor.encode(plain)]  # one call for all
        for i, text in spaced.items():
            out[i] = self._encode_spaced(text)
        return out

    def _encode_spaced(self, text: str) -> list[int]:
        """Whitespace as byte pieces (so it decodes to itself), the rest through SentencePiece."""
        ids: list[int] = []
        for position, part in enumerate(_WHITESPACE.split(text)):
            if position % 2:
                ids.extend(self._byte_ids_by_value[b] for b in part.encode("utf-8"))
            elif part:
                ids.extend(self._sp_to_ours[i] for i in self._processor.encode(part))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        out: list[str] = []
        pending = bytearray()
        for piece_id in ids:
            value = self._byte_values.get(piece_id)
            if value is not None:
                pending.append(value)
                continue
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            out.append(self.piece_chars(piece_id))
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    # ------------------------------------------------------------ training, files

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int = 8192,
        character_coverage: float = 0.998,
        threads: int = 2,
        sources: Sequence[str] = (),
    ) -> tuple[SentencePieceTokenizer, float]:
        """Train on the lines of `texts`. `vocab_size` counts every piece (specials and punctuation too);
        a corpus too small for it gets fewer. Returns (tokenizer, share of characters that have a piece
        of their own rather than bytes)."""
        import sentencepiece

        if vocab_size < MIN_VOCAB_SIZE:
            raise UserError(
                f"sp_vocab_size must be at least {MIN_VOCAB_SIZE}, got {vocab_size}", field="sp_vocab_size"
            )
        lines: list[str] = []
        counts: Counter[str] = Counter()
        for text in texts:
            text = normalize_variants(text)
            counts.update(text)
            lines.extend(line for line in _LINE_BREAK.split(text) if line)
        if not lines:
            raise UserError("no text to train a SentencePiece model on", field="tokenizer")
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=model,
                model_type="bpe",  # unigram trains far more slowly on a corpus this size, for no gain here
                vocab_size=vocab_size - len(SPECIALS) + 3,  # its own <unk> <s> </s> are not ours
                user_defined_symbols=list(PUNCTUATION),
                hard_vocab_limit=False,
                character_coverage=character_coverage,
                byte_fallback=True,
                normalization_rule_name="identity",
                add_dummy_prefix=False,
                remove_extra_whitespaces=False,
                max_sentencepiece_length=4,
                num_threads=threads,
                minloglevel=2,
            )
        except RuntimeError as error:
            # e.g. "Vocabulary size is smaller than required_chars. 1992 vs 4271": the corpus has more
            # characters to cover than pieces were asked for
            needed = re.search(r"required_chars\D+\d+\D+(\d+)", str(error))
            raise UserError(
                f"sp_vocab_size {vocab_size} is too small for this corpus"
                + (f": its characters need about {int(needed[1]) + len(SPECIALS):,} pieces" if needed else "")
                + f" ({error}); give a larger one, or the char tokenizer",
                field="sp_vocab_size",
            ) from None
        tokenizer = cls(model.getvalue(), sources)
        whole = {tokenizer.pieces[i] for i in range(len(SPECIALS), tokenizer.vocab_size)}
        whole -= {tokenizer.pieces[i] for i in tokenizer.byte_ids}
        covered = sum(n for ch, n in counts.items() if ch in whole or ch in PUNCTUATION)
        return tokenizer, covered / max(1, sum(counts.values()))

    def save(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / MODEL_FILE, self.model_proto)
        document = {
            "kind": self.kind,
            "model_file": MODEL_FILE,
            "model_sha256": hashlib.sha256(self.model_proto).hexdigest(),
            "pieces": self.pieces,
        }
        write_atomic(directory / TOKENIZER_FILE, json.dumps(document, ensure_ascii=False))

    @classmethod
    def load(cls, directory: str | os.PathLike, document: dict) -> SentencePieceTokenizer:
        """Load from a folder; `document` is its parsed tokenizer.json. Refuses a model file that is not
        the one the document was written with."""
        name = document.get("model_file", MODEL_FILE)
        if not isinstance(name, str) or Path(name).name != name:
            raise UserError(f"{directory}/{TOKENIZER_FILE}: bad model_file {name!r}", field="model")
        path = Path(directory) / name
        try:
            proto = path.read_bytes()
        except OSError:
            raise UserError(f"{path}: SentencePiece model file missing", field="model") from None
        expected = document.get("model_sha256")
        if expected and hashlib.sha256(proto).hexdigest() != expected:
            raise UserError(
                f"{path} is not the SentencePiece model {TOKENIZER_FILE} was saved with", field="model"
            )
        pieces = document.get("pieces")
        tokenizer = cls(proto, trailing_sources(pieces) if isinstance(pieces, list) else ())
        if tokenizer.pieces != pieces:
            raise UserError(f"{path}: pieces differ from those in {TOKENIZER_FILE}", field="model")
        return tokenizer
