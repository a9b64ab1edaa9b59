#!/usr/bin/python3
"""Write the small ONNX files of testdata/onnx/ and PyTorch's outputs for them.

Run by hand, with Debian's PyTorch and python3-onnx (apt-get install -y
python3-torch python3-torchvision python3-onnx):

    /usr/bin/python3 scripts/make-onnx-testdata.py [OUTDIR]

Every network has random weights from a fixed seed, batch-norm statistics
drawn at random too (so that importing them is tested), and one random input
batch. For each case NAME it writes NAME.onnx, NAME.in.f32 (the input) and
NAME.out.f32 (PyTorch's output), raw little-endian float32 in NCHW order, and
one cases.json that lists the shapes; `make check` (tests/unit/test_onnx.c)
imports each file and compares aoi's output with PyTorch's, without needing
PyTorch.

The cases:
  mobilenet_v2  torchvision MobileNetV2, width 0.35, 10 classes, 64x64, opset 13,
                batch norm kept as BatchNormalization nodes (training=PRESERVE)
  resnet18      a ResNet-18-shaped net (torchvision's BasicBlock layout, 2-2-2-2,
                widths 8-16-32-64), 10 classes, 64x64, opset 11, batch norm folded
                into the convolutions as torch.onnx.export does by default
  alexnet       AlexNet's layout at reduced width, 160x160, adaptive average pool
                to 2x2, flattened with x.view(x.size(0), -1) and a dynamic batch
                (a Shape/Gather/Unsqueeze/Concat chain before Reshape), opset 17
  segnet        a SegNet-shaped net: two VGG stages, max pools keeping their
                indices and max-unpools using them, written with onnx.helper
                (torch.onnx has no MaxUnpool), 32x32, 4 classes, opset 17
  ops           the other operators: Pad and asymmetric Conv pads, dilated and
                grouped convolutions, LeakyRelu, Sigmoid, Clip (ReLU6), nearest
                and bilinear Resize, ConvTranspose, Concat, AveragePool, Gemm
                without transB, MatMul + Add, and a final Softmax (which the
                import drops: the reference output is the scores before it)

and, for the error paths, tiny files: external.onnx with its weights in
external.bin next to it; bad-escape.onnx, the same with its weights said to be
in ../onnx/external.bin (outside the model's folder, so refused); bad-op.onnx
(Hardmax, which aoi has not); bad-dangling.onnx (a node reading a value nothing
makes); bad-shape.onnx (a convolution weight for 4 channels on 3).
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "onnx")


def randomize_bn(model, gen):
    """Batch-norm weights and running statistics away from their defaults."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def save_f32(path, t):
    np.asarray(t, dtype="<f4").tofile(path)


def export(name, model, x, opset, **kw):
    model.eval()
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                      output_names=["output"], **kw)
    return path, y


def record(cases, name, x, y, opset, note, softmax=False):
    save_f32(os.path.join(OUT, name + ".in.f32"), x.numpy())
    save_f32(os.path.join(OUT, name + ".out.f32"), y.numpy())
    cases.append({"name": name, "onnx": name + ".onnx", "input": list(x.shape),
                  "output": list(y.shape), "opset": opset, "final_softmax": softmax,
                  "note": note})


# ---- ResNet-18 shape ----

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNet18Shape(nn.Module):
    def __init__(self, widths=(8, 16, 32, 64), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.pool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            layers += [BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)]
            cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


# ---- AlexNet shape ----

class AlexNetShape(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(16, 48, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(48, 64, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(32 * 2 * 2, 128), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(128, 128), nn.ReLU(inplace=True),
            nn.Linear(128, classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.view(x.size(0), -1))


# ---- SegNet shape, in PyTorch for the reference and by hand in ONNX ----

class SegNetShape(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        def cbr(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU())
        self.enc1 = nn.Sequential(cbr(3, 8), cbr(8, 8))
        self.enc2 = nn.Sequential(cbr(8, 16), cbr(16, 16))
        self.dec2 = nn.Sequential(cbr(16, 16), cbr(16, 8))
        self.dec1 = cbr(8, 8)
        self.head = nn.Conv2d(8, classes, 3, 1, 1)

    def forward(self, x):
        x = self.enc1(x)
        s1 = x.shape
        x, i1 = F.max_pool2d(x, 2, 2, return_indices=True)
        x = self.enc2(x)
        s2 = x.shape
        x, i2 = F.max_pool2d(x, 2, 2, return_indices=True)
        x = self.dec2(F.max_unpool2d(x, i2, 2, 2, output_size=s2[2:]))
        x = self.dec1(F.max_unpool2d(x, i1, 2, 2, output_size=s1[2:]))
        return self.head(x)


def segnet_onnx(model, x, path, opset):
    """The same net as ONNX nodes: Conv, BatchNormalization, Relu, MaxPool with
    its Indices output, MaxUnpool with an output_shape input."""
    nodes, inits, n = [], [], [0]

    def init(name, t):
        inits.append(numpy_helper.from_array(t.detach().numpy().astype(np.float32), name))
        return name

    def fresh(kind):
        n[0] += 1
        return "%s_%d" % (kind, n[0])

    def cbr(seq, prefix, x):
        conv, bn = seq[0], seq[1]
        w = init(prefix + ".conv.weight", conv.weight)
        c, b, r = fresh("conv"), fresh("bn"), fresh("relu")
        nodes.append(helper.make_node("Conv", [x, w], [c], name=c, kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1], strides=[1, 1]))
        ins = [c] + [init(prefix + ".bn." + k, getattr(bn, k)) for k in
                     ("weight", "bias", "running_mean", "running_var")]
        nodes.append(helper.make_node("BatchNormalization", ins, [b], name=b, epsilon=1e-5))
        nodes.append(helper.make_node("Relu", [b], [r], name=r))
        return r

    def pool(x):
        y, i = fresh("pool"), fresh("indices")
        nodes.append(helper.make_node("MaxPool", [x], [y, i], name=y, kernel_shape=[2, 2],
                                      strides=[2, 2]))
        return y, i

    def unpool(x, i, shape):
        s, y = fresh("shape"), fresh("unpool")
        nodes.append(helper.make_node("Shape", [shape], [s], name=s))
        nodes.append(helper.make_node("MaxUnpool", [x, i, s], [y], name=y,
                                      kernel_shape=[2, 2], strides=[2, 2]))
        return y

    t = "input"
    t = cbr(model.enc1[1], "enc1.1", cbr(model.enc1[0], "enc1.0", t))
    s1 = t
    t, i1 = pool(t)
    t = cbr(model.enc2[1], "enc2.1", cbr(model.enc2[0], "enc2.0", t))
    s2 = t
    t, i2 = pool(t)
    t = cbr(model.dec2[1], "dec2.1", cbr(model.dec2[0], "dec2.0", unpool(t, i2, s2)))
    t = cbr(model.dec1, "dec1", unpool(t, i1, s1))
    w, b = init("head.weight", model.head.weight), init("head.bias", model.head.bias)
    nodes.append(helper.make_node("Conv", [t, w, b], ["output"], name="head",
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    graph = helper.make_graph(
        nodes, "segnet", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                         ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4, 32, 32])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="make-onnx-testdata.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


# ---- the other operators ----

class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))        # Pad, then a conv without pads
        self.c1 = nn.Conv2d(3, 8, 3, 2, 0)
        self.c2 = nn.Conv2d(8, 8, 3, 1, 2, dilation=2)
        self.c3 = nn.Conv2d(8, 8, 3, 1, 1, groups=4)
        with torch.no_grad():                       # so that ReLU6 clips some
            self.c3.weight.mul_(8.0)
        self.c4 = nn.Conv2d(8, 8, 2, 1, 0)           # its pads become asymmetric below
        self.up = nn.ConvTranspose2d(8, 6, 3, 2, 1, output_padding=1)
        self.c5 = nn.Conv2d(14, 8, 3, 1, 1)
        self.c6 = nn.Conv2d(8, 4, 1)
        self.w1 = nn.Parameter(torch.randn(4 * 8 * 8, 16) * 0.05)
        self.b1 = nn.Parameter(torch.randn(16) * 0.1)
        self.w2 = nn.Parameter(torch.randn(16, 5) * 0.2)
        self.b2 = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        x = F.leaky_relu(self.c1(self.pad(x)), 0.1)           # 16x16
        x = torch.sigmoid(self.c2(x))
        x = F.relu6(self.c3(x))
        x = self.c4(F.pad(x, (0, 1, 0, 1)))                    # folded into the conv
        a = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        b = F.interpolate(F.max_pool2d(x, 2), scale_factor=4, mode="nearest")
        a = F.relu(self.up(F.avg_pool2d(a, 3, 2, 1)))          # 32 -> 16 -> 32
        x = torch.cat([a, b], 1)
        x = F.max_pool2d(F.relu(self.c5(x)), 4)                # 8x8
        x = torch.flatten(self.c6(x), 1)
        x = F.relu(x @ self.w1 + self.b1)                      # MatMul + Add
        x = torch.addmm(self.b2, x, self.w2)                   # Gemm, transB = 0
        return x


def fold_pads(path, conv_name, pads):
    """Merge the Pad node that feeds a Conv into the Conv's (then asymmetric)
    pads, as TensorFlow exports have them, and drop the nodes that computed
    the Pad's pads."""
    m = onnx.load(path)
    g = m.graph
    conv = next(n for n in g.node if n.name == conv_name)
    pad = next(n for n in g.node if n.output[0] == conv.input[0])
    assert pad.op_type == "Pad"
    for a in list(conv.attribute):
        if a.name == "pads":
            conv.attribute.remove(a)
    conv.attribute.append(helper.make_attribute("pads", pads))
    conv.input[0] = pad.input[0]
    g.node.remove(pad)
    used = {o.name for o in g.output}
    for n in reversed(list(g.node)):        # unused nodes, last first
        if not any(o in used for o in n.output):
            g.node.remove(n)
        else:
            used.update(n.input)
    onnx.checker.check_model(m)
    onnx.save(m, path)


# ---- broken and unusual files, for the error paths ----

def tiny(path, nodes, inits, inputs=None, external=None):
    """A small float graph of input 1x3x8x8 and output "y"."""
    graph = helper.make_graph(
        nodes, "tiny", inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="make-onnx-testdata.py")
    m.ir_version = 8
    if external:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=external, size_threshold=0)
    else:
        onnx.save(m, path)


def weight(name, shape, gen):
    return numpy_helper.from_array(
        (torch.randn(*shape, generator=gen) * 0.2).numpy().astype(np.float32), name)


def bad_files():
    gen = torch.Generator().manual_seed(9)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3],
                            pads=[1, 1, 1, 1])
    # weights in a file next to the model: fine
    tiny(os.path.join(OUT, "external.onnx"), [conv], [weight("w", (4, 3, 3, 3), gen)],
         external="external.bin")
    # the same, its weights said to be outside the model's folder
    m = onnx.load(os.path.join(OUT, "external.onnx"), load_external_data=False)
    for e in m.graph.initializer[0].external_data:
        if e.key == "location":
            e.value = "../onnx/external.bin"
    onnx.save(m, os.path.join(OUT, "bad-escape.onnx"))
    # an operator aoi has not
    tiny(os.path.join(OUT, "bad-op.onnx"),
         [helper.make_node("Hardmax", ["x"], ["y"], name="hardmax_1")], [])
    # a node reading a value nothing makes
    tiny(os.path.join(OUT, "bad-dangling.onnx"),
         [helper.make_node("Relu", ["x"], ["r"], name="relu_1"),
          helper.make_node("Add", ["r", "nowhere"], ["y"], name="add_1")], [])
    # a weight for 4 input channels on an input of 3
    tiny(os.path.join(OUT, "bad-shape.onnx"),
         [helper.make_node("Conv", ["x", "w"], ["y"], name="conv_1", kernel_shape=[3, 3])],
         [weight("w", (4, 4, 3, 3), gen)])


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []

    torch.manual_seed(16)
    gen = torch.Generator().manual_seed(16)
    m = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=10)
    randomize_bn(m, gen)
    x = torch.randn(2, 3, 64, 64, generator=gen)
    _, y = export("mobilenet_v2", m, x, 13, training=torch.onnx.TrainingMode.PRESERVE,
                  do_constant_folding=False, dynamic_axes={"input": {0: "batch"}})
    record(cases, "mobilenet_v2", x, y, 13, "torchvision, batch norm kept")

    torch.manual_seed(18)
    gen = torch.Generator().manual_seed(18)
    m = ResNet18Shape()
    randomize_bn(m, gen)
    x = torch.randn(2, 3, 64, 64, generator=gen)
    _, y = export("resnet18", m, x, 11)
    record(cases, "resnet18", x, y, 11, "batch norm folded into the convolutions")

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    m = AlexNetShape()
    x = torch.randn(1, 3, 160, 160, generator=gen)
    _, y = export("alexnet", m, x, 17, do_constant_folding=False,
                  dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    record(cases, "alexnet", x, y, 17, "view(x.size(0), -1): a shape chain")

    torch.manual_seed(4)
    gen = torch.Generator().manual_seed(4)
    m = SegNetShape().eval()
    randomize_bn(m, gen)
    x = torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        y = m(x)
    segnet_onnx(m, x, os.path.join(OUT, "segnet.onnx"), 17)
    record(cases, "segnet", x, y, 17, "MaxPool indices and MaxUnpool")

    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(5)
    m = Ops()
    x = torch.randn(2, 3, 32, 32, generator=gen)
    path, y = export("ops", nn.Sequential(m, nn.Softmax(1)), x, 11)
    with torch.no_grad():
        y = m(x)                                  # the scores before the softmax
    fold_pads(path, "/0/c4/Conv", [0, 0, 1, 1])     # top, left, bottom, right
    record(cases, "ops", x, y, 11, "a final Softmax, dropped by the import", softmax=True)

    bad_files()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]\n")
    for c in cases:
        print("wrote", c["name"], c["input"], "->", c["output"])


if __name__ == "__main__":
    main()
