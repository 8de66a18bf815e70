"""See inside: pictures of a network, drawings of its computation graph, and the backward pass in words.

Pictures (PNG or any format matplotlib writes, chosen by the file's suffix):

* :func:`plot_first_layer_weights`: each first-layer neuron's 784 weights as a
  28x28 image, positive blue and negative red on one shared symmetric scale;
* :func:`plot_training_curves`: loss and test accuracy per epoch;
* :func:`plot_confusion`, :func:`plot_worst_digits` (with :func:`worst_predictions`);
* :func:`plot_output_activations`: an image next to the network's ten outputs;
* :func:`plot_decision_boundary`: a 2-D classifier's regions and its data.

matplotlib is an optional extra (``pip install "tinygrad_mlp[viz]"``). It is
imported only when a picture is drawn, and only its object-oriented API with
the Agg canvas is used: no window ever opens, and pyplot's global state (and
backend) is left alone, so these work the same in scripts, tests and notebooks.

Text (numpy only):

* :func:`to_dot`: Graphviz DOT source of the graph that produced a tensor, and
  :func:`render_dot` to turn it into a picture when Graphviz's ``dot`` program is
  installed (it is optional; otherwise the ``.dot`` file is written);
* :func:`explain_backward`: the backward pass narrated node by node, by calling
  each primitive's own backward; :func:`explain` builds the notes' one-neuron
  chain (or a tiny network) and narrates it, ending with the closed form.

``backward()`` releases the graph as it walks it (unless ``retain_graph=True``),
so draw or explain a graph *before* calling backward, or call
``backward(retain_graph=True)`` if the drawing should show the gradients.
"""

from .graph import GraphvizMissing, expanded, render_dot, to_dot
from .learning_plots import finish, plot_descent_2d, plot_gradient_noise, plot_hidden_neurons, plot_lr_sweep
from .narrate import EXPLAIN_MAX_WIDTH, explain, explain_backward, one_neuron_chain
from .pictures import (
    MATPLOTLIB_MISSING,
    plot_confusion,
    plot_decision_boundary,
    plot_first_layer_weights,
    plot_output_activations,
    plot_report,
    plot_training_curves,
    plot_worst_digits,
    worst_predictions,
)

__all__ = [
    "plot_descent_2d",
    "plot_gradient_noise",
    "plot_lr_sweep",
    "plot_hidden_neurons",
    "finish",
    "MATPLOTLIB_MISSING",
    "plot_first_layer_weights",
    "plot_training_curves",
    "plot_confusion",
    "plot_worst_digits",
    "worst_predictions",
    "plot_output_activations",
    "plot_decision_boundary",
    "plot_report",
    "to_dot",
    "expanded",
    "render_dot",
    "GraphvizMissing",
    "explain_backward",
    "one_neuron_chain",
    "explain",
    "EXPLAIN_MAX_WIDTH",
]
