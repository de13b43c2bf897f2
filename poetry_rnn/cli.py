"""`python -m poetry_rnn data|train|evaluate|generate|check` — one entry point, one module a command.

Each command module exposes `configure_parser(parser)` and `run(args) -> int`; they are imported
lazily so that `check` does not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from poetry_rnn.errors import UserError

COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("poetry_rnn.corpus", "load, clean, split and tokenize a corpus; print the report"),
    "train": ("poetry_rnn.train", "train a PoetryLM"),
    "evaluate": ("poetry_rnn.evaluate", "character perplexity of a model on a corpus"),
    "generate": ("poetry_rnn.generation.command", "write poems under form, rhyme and tone constraints"),
    "check": ("poetry_rnn.prosody.check_command", "analyse a poem's 格律 (tone, rhyme, 对仗, faults)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m poetry_rnn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help(sys.stdout)
        return 0
    if argv[0] not in COMMANDS:
        parser.print_usage(sys.stderr)
        print(f"error: unknown command {argv[0]!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    command_parser = argparse.ArgumentParser(
        prog=f"python -m poetry_rnn {name}", description=COMMANDS[name][1]
    )
    module.configure_parser(command_parser)
    args = command_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except UserError as error:
        # the command's own spelling of an option where it has one (generate: tone=off is --tone off)
        print(f"error: {getattr(module, 'in_cli_terms', str)(str(error))}", file=sys.stderr)
        chinese = error.text("zh")
        if chinese != str(error):  # a refusal with a Chinese text: the option at fault, then the text
            # and of the flag (generate: --rhyme for rhyme_scheme)
            flag_of = getattr(module, "flag_of", lambda field: "--" + field.replace("_", "-"))
            where = f"（{flag_of(error.field)}）" if error.field not in (None, "text") else ""
            print(f"错误{where}：{chinese}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader stopped early (`... | head`): not an error of the command. Point stdout at devnull so
        # that the interpreter's final flush does not raise again, and exit as a program killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
