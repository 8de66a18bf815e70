"""Write the tutorial's notebooks, one per lesson of the notes (run from anywhere: python make_notebooks.py).

The notebooks are generated from the cells below so that they stay reviewable as plain Python; the
test suite executes each one with nbclient (tests/test_notebooks.py). They run on small synthetic
digits in seconds; change ``load_synthetic(...)`` to ``load_mnist()`` for the real thing.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
%matplotlib inline
import numpy as np
from tinygrad_mlp import Tensor, learning, no_grad, viz
from tinygrad_mlp.data import DataLoader, ascii_digit, load_synthetic
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD

x_train, y_train, x_test, y_test = load_synthetic(2000, 500, seed=0)   # or: load_mnist()"""

TRAIN = """\
def train(epochs=2, lr=3.0, seed=0):
    model = MLP([784, 16, 16, 10], init="xavier", seed=seed)
    optimizer = SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in DataLoader(x_train, y_train, batch_size=10, seed=seed):
            cost = F.quadratic_cost(model(Tensor(xb)), yb)
            optimizer.zero_grad()
            cost.backward()
            optimizer.step()
    return model

def accuracy(model, x, y):
    with no_grad():
        return float(np.mean(model(Tensor(x)).data.argmax(axis=1) == y))"""

LESSONS = {
    "lesson1_what_is_a_neural_network.ipynb": [
        ("md", "# Lesson 1: what is a neural network?\n\nNeurons hold numbers, weights and biases connect "
               "layers, a layer is `sigmoid(W a + b)`, and the whole network is a function of 13,002 numbers "
               "(tutorial sections 1-4)."),
        ("code", SETUP),
        ("md", "## 784 input activations: one per pixel"),
        ("code", "image = x_train[0]\nprint(image.shape, image.min(), image.max(), 'label', y_train[0])\n"
                 "print(ascii_digit(image))"),
        ("md", "## A neuron: weights, a bias for inactivity, the sigmoid\n\nPositive weights on a bar near the "
               "top, negative just around it, bias -10: the neuron lights up only for that bar."),
        ("code", "w = np.zeros((28, 28)); w[6:9, 8:20] = 1.0; w[4:6, 8:20] = -1.0; w[9:11, 8:20] = -1.0\n"
                 "bar = np.zeros((28, 28)); bar[6:9, 8:20] = 1.0\n"
                 "for name, img in (('bar', bar), ('blank', np.zeros((28, 28))), ('a digit', image.reshape(28, 28))):\n"
                 "    print(f'{name:8} sigmoid(w . a - 10) = {1 / (1 + np.exp(-(w.ravel() @ img.ravel() - 10))):.5f}')"),
        ("md", "## A layer is a matrix, the network a function of 13,002 parameters\n\n`W` has one row per "
               "neuron of the next layer: shape (16, 784)."),
        ("code", "model = MLP([784, 16, 16, 10], init='normal', seed=0)\nprint(model.num_parameters())\n"
                 "for name, p in model.named_parameters():\n    print(f'{name:16} {p.shape}')"),
        ("md", "## Random weights: not random guesses\n\nBefore training the network answers nearly the same "
               "digit for every image."),
        ("code", "for init in ('normal', 'xavier'):\n"
                 "    guesses = MLP([784, 16, 16, 10], init=init, seed=0)(Tensor(x_test)).data.argmax(axis=1)\n"
                 "    print(init, np.bincount(guesses, minlength=10))"),
        ("md", "The first layer's weights of the random network, drawn as 28x28 pictures (blue +, red -): "
               "with no `path`, a viz function returns the Figure, and the notebook shows it."),
        ("code", "viz.plot_first_layer_weights(model.weights[0])"),
    ],
    "lesson2_gradient_descent.ipynb": [
        ("md", "# Lesson 2: gradient descent, how neural networks learn\n\nA cost, a surface, steps downhill, "
               "mini-batches, and a look at what was learned (tutorial sections 5-7, 10 and 12)."),
        ("code", SETUP + "\n\n" + TRAIN),
        ("md", "## Descent on a surface you can see\n\nTwo weights, two minima: the learning rate decides "
               "between creeping, arriving, overshooting into the other valley, and diverging."),
        ("code", "runs = {f'lr {lr}': learning.descend((-1.9, 1.5), lr, 60) for lr in (0.02, 0.1, 0.3, 0.6)}\n"
                 "runs['lr 0.1 from elsewhere'] = learning.descend((1.9, -1.5), 0.1, 60)\n"
                 "runs['noisy (mini-batch)'] = learning.descend((0.2, 1.6), 0.05, 60, noise=1.5)\n"
                 "viz.plot_descent_2d(learning.two_minima_cost, runs)"),
        ("md", "## The cost, and stochastic gradient descent on it"),
        ("code", "model = train(epochs=2)\nprint(f'test accuracy {accuracy(model, x_test, y_test):.1%}')"),
        ("md", "## How good is a mini-batch's gradient?\n\nCosine similarity and relative error against the "
               "gradient over all training images."),
        ("code", "w = [W.data.astype(np.float64) for W in MLP([784, 16, 16, 10], init='xavier', seed=0).weights]\n"
                 "b = [v.data.astype(np.float64) for v in MLP([784, 16, 16, 10], init='xavier', seed=0).biases]\n"
                 "noise = learning.gradient_noise(w, b, x_train, y_train, [1, 10, 100, 1000], repeats=10)\n"
                 "for size, (cos, rel) in noise.items():\n    print(f'batch {size:5}: cosine {cos:.3f}, relative error {rel:.3f}')\n"
                 "viz.plot_gradient_noise(noise)"),
        ("md", "## A learning rate that stalls\n\nAt lr 300 the sigmoids saturate: no NaN, just no learning."),
        ("code", "for lr in (3.0, 300.0):\n    m = train(epochs=1, lr=lr)\n"
                 "    sat = learning.saturation([W.data for W in m.weights], [v.data for v in m.biases], x_train)\n"
                 "    print(f'lr {lr:5}: accuracy {accuracy(m, x_test, y_test):.1%}, saturated per layer '\n"
                 "          + ', '.join(f'{s:.0%}' for s in sat))"),
        ("md", "## What was learned: the first layer's weights"),
        ("code", "viz.plot_first_layer_weights(model.weights[0])"),
        ("md", "## Noise still gets an answer"),
        ("code", "noise_images = np.random.default_rng(0).random((200, 784)).astype(np.float32)\n"
                 "with no_grad():\n    top = model(Tensor(noise_images)).data.max(axis=1)\n"
                 "print(f'largest output, median {np.median(top):.2f}; above 0.9: {np.mean(top > 0.9):.0%}')"),
    ],
    "lesson3_backpropagation.ipynb": [
        ("md", "# Lesson 3: backpropagation, step by step\n\nOne digit's nudges: what the cost wants of the "
               "output layer, the three ways to get it, `a_k delta_j`, the competing nudges, and the average "
               "over examples (tutorial section 12; `tinygrad-mlp nudges`)."),
        ("code", SETUP + "\n\n" + TRAIN + "\n\nmodel = train(epochs=2)"),
        ("code", "weights = [W.data for W in model.weights]\nbiases = [b.data for b in model.biases]\n"
                 "n = learning.nudges(weights, biases, x_test[0], int(y_test[0]))\n"
                 "print(learning.format_nudges(n, weights))"),
        ("md", "## Averaging the desired changes is the gradient\n\nEach example's gradient, computed alone and "
               "averaged, against one backprop of the batch:"),
        ("code", "average, batch = learning.per_example_average(weights, biases, x_test[:10], y_test[:10])\n"
                 "print(max(float(np.abs(a - b).max()) for a, b in zip(average, batch)))"),
        ("md", "## Did the hidden neurons learn edges and loops?"),
        ("code", "hidden = learning.hidden_activations(weights, biases, x_test)\n"
                 "means = learning.mean_activation_per_digit(hidden[0], y_test)\n"
                 "top = learning.top_activating(hidden[0], 4)\n"
                 "viz.plot_hidden_neurons(x_test, top, means, templates=weights[0])"),
    ],
    "lesson4_backpropagation_calculus.ipynb": [
        ("md", "# Lesson 4: backpropagation calculus\n\nThe chain rule on the one-neuron chain, the j, k "
               "notation, and checking a hand-written backprop three ways (tutorial section 8, "
               "gradient-checking.md exercises 6-8)."),
        ("code", SETUP),
        ("code", "C0, parts = viz.one_neuron_chain((1, 1, 1), seed=0)\nC0.backward()\n"
                 "a1, a2, y = parts['a1'].item(), parts['a2'].item(), parts['y'].item()\n"
                 "print('backward():  ', parts['w2'].grad.item())\n"
                 "print('closed form: ', a1 * a2 * (1 - a2) * 2 * (a2 - y))"),
        ("code", "print(viz.explain('1-1-1')[:1200])"),
        ("md", "## Your own backprop, in the notes' j, k notation, checked three ways"),
        ("code", "def my_backprop(weights, biases, x, labels):\n"
                 "    L, n = len(weights), len(x)\n"
                 "    grad_w = [np.zeros_like(W) for W in weights]\n"
                 "    grad_b = [np.zeros_like(b) for b in biases]\n"
                 "    cost = 0.0\n"
                 "    for example, label in zip(x, labels):\n"
                 "        a = [example]\n"
                 "        for W, b in zip(weights, biases):\n"
                 "            a.append(1 / (1 + np.exp(-(W @ a[-1] + b))))\n"
                 "        y = np.eye(len(a[L]))[label]\n"
                 "        cost += np.sum((a[L] - y) ** 2) / n\n"
                 "        dC_da = 2 * (a[L] - y)\n"
                 "        for l in range(L, 0, -1):\n"
                 "            dC_dz = a[l] * (1 - a[l]) * dC_da\n"
                 "            grad_b[l - 1] += dC_dz / n\n"
                 "            grad_w[l - 1] += np.outer(dC_dz, a[l - 1]) / n\n"
                 "            dC_da = weights[l - 1].T @ dC_dz\n"
                 "    return cost, grad_w, grad_b\n\n"
                 "from tinygrad_mlp.threeway import make_problem, three_way_check\n"
                 "problem = make_problem([4, 3, 3, 3], 'sigmoid', 'mse', batch_size=5, seed=0)\n"
                 "result = three_way_check(problem.model, problem.x, problem.labels, 'mse', hand=my_backprop)\n"
                 "print(result.format_table())"),
        ("md", "## Planted bugs: which pairs fail, and where"),
        ("code", "import functools\nfrom tinygrad_mlp import exercises\n"
                 "for name in exercises.PLANTED_BUGS:\n"
                 "    hand = functools.partial(exercises.notes_backprop, bug=name)\n"
                 "    r = three_way_check(problem.model, problem.x, problem.labels, 'mse', hand=hand)\n"
                 "    print(f'{name:31}', sorted(row.name for row in r.rows if not row.passed))"),
    ],
}


def build() -> list[Path]:
    written = []
    for name, cells in LESSONS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells],
                          metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                    "language_info": {"name": "python"}})
        path = HERE / name
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build():
        print("wrote", path)
