"""``tinygrad-mlp serve``: a local page where a learner draws a digit and watches the notes' network think, and
learn. The library's own forward and backward passes run on the server; the page (``static/``: one HTML file,
one script, one style sheet, no build step, nothing from a CDN) draws what they return.

* :mod:`.preprocess`: a drawing prepared like MNIST's digits (20x20 box, centre of mass in 28x28);
* :mod:`.session`: the network shown, the forward pass, backprop's nudges, the live training job;
* :mod:`.server`: the HTTP server (standard library only) and its safety limits.
"""

from .preprocess import prepare_like_mnist
from .server import make_server, serve
from .session import Session, Snapshot

__all__ = ["prepare_like_mnist", "make_server", "serve", "Session", "Snapshot"]
