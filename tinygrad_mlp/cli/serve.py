"""``tinygrad-mlp serve``: the live page of :mod:`tinygrad_mlp.web`. This module only parses the options."""

from __future__ import annotations

from . import options as o

__all__: list[str] = []


def add_serve(subparsers) -> None:
    p = subparsers.add_parser("serve", help="a page in your browser: draw a digit, watch the network think and learn",
                              description="Serve a local page (127.0.0.1, the standard library's http.server, "
                                          "nothing from the internet) where you draw a digit and watch the network's "
                                          "activations, a hidden neuron's weights, backprop's nudges for the right "
                                          "answer, and live training. Prints the address and opens it in your "
                                          "browser; Ctrl-C stops it.")
    p.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT",
                   help="a model saved by 'train' (784 inputs, 10 outputs, up to 3 hidden layers of up to 64); "
                        "default: the notes' 784-16-16-10 with fresh weights, to train from the page")
    p.add_argument("--port", type=o.int_in(0, 65535), default=0,
                   help="port to listen on (default 0: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; any other warns, since the "
                        "page has no login)")
    p.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    p.add_argument("--test-digits", choices=("auto", "mnist", "synthetic"), default="auto",
                   help="where the page's test digits come from (default auto: MNIST when its files are found "
                        "locally, else the synthetic digits; the page never downloads)")
    p.add_argument("--data-dir", type=o.data_dir, help="folder holding the MNIST files")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    p.set_defaults(func=run_serve)


def run_serve(args) -> int:
    from ..web.app import run  # the server's modules are imported only by this command

    return run(args.checkpoint, host=args.host, port=args.port, open_browser=not args.no_browser,
               data_dir=args.data_dir, test_dataset=args.test_digits, verbose=args.verbose, say=o.say,
               warn=lambda line: o.say(line, err=True))
