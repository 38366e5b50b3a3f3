#!/usr/bin/env python3
"""Writes Tests/SinGANTests/Resources/singan_step.json: one SinGAN training iteration on a tiny network, computed
by PyTorch (CPU, float32), as an oracle for the Swift engine. Everything the step needs is in the
file: weights before, inputs, the random draws (noise, the penalty's mixing scalar), and the
results: generator output, losses, the gradient penalty, all parameter gradients, the weights after
one Adam step, and BatchNorm running statistics. Names: G.b0..b3 are ConvBlocks (conv, bn), G.tail
the last conv; D likewise. conv.w is [out, in, 3, 3]; bn.mean/bn.var are running statistics.

Run: python3 tools/make_step_fixture.py   (needs torch; CPU is enough)
"""
import json, os
import torch
import torch.nn as nn

torch.manual_seed(0)
NFC, H, W, SIGMA, ALPHA_GP, LAMBDA, REC_W, LR = 4, 12, 14, 0.1, 0.3, 0.1, 10.0, 5e-4


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout)

    def forward(self, x):
        return nn.functional.leaky_relu(self.bn(self.conv(x)), 0.2)


class Net(nn.Module):
    def __init__(self, out_ch, is_g):
        super().__init__()
        self.b0, self.b1, self.b2, self.b3 = Block(3, NFC), Block(NFC, NFC), Block(NFC, NFC), Block(NFC, NFC)
        self.tail, self.is_g = nn.Conv2d(NFC, out_ch, 3), is_g
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.data.normal_(0.0, 0.02 * 10)  # 10x the paper's scale: keeps signals O(1) in a tiny net
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.normal_(1.0, 0.02); m.bias.data.normal_(0.0, 0.1)

    def forward(self, x, y=None):
        x = self.tail(self.b3(self.b2(self.b1(self.b0(x)))))
        return torch.tanh(x) + y[:, :, 5:-5, 5:-5] if self.is_g else x


def params(prefix, net):
    out = {}
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        n = name.replace("conv.weight", "conv.w").replace("conv.bias", "conv.b").replace("bn.weight", "bn.gamma") \
                .replace("bn.bias", "bn.beta").replace("bn.running_mean", "bn.mean").replace("bn.running_var", "bn.var") \
                .replace("tail.weight", "tail.w").replace("tail.bias", "tail.b")
        out[f"{prefix}.{n}"] = t
    return out


def grads(prefix, net):
    return {k: (p.grad if p.grad is not None else torch.zeros_like(p)) for k, p in zip(
        [k for k in params(prefix, net) if not (k.endswith(".mean") or k.endswith(".var"))], net.parameters())}


def enc(d):
    return {k: {"shape": list(v.shape), "data": [float(x) for x in v.detach().reshape(-1)]} for k, v in d.items()}


G, D = Net(3, True), Net(1, False)
pad = nn.ZeroPad2d(5)
real = torch.rand(1, 3, H, W) * 2 - 1
noise = torch.randn(1, 3, H, W)
prev = torch.rand(1, 3, H, W) * 2 - 1
z_rec_prev = torch.rand(1, 3, H, W) * 2 - 1
inputs = {"real": real, "noise": noise, "prev": prev, "rec_prev": z_rec_prev}
before = {**params("G", G), **params("D", D)}
before = {k: v.clone() for k, v in before.items()}
optD = torch.optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
optG = torch.optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))

import copy
D_gp = copy.deepcopy(D)  # the penalty alone, from the same weights: isolates the second-order term

# critic step
P = pad(prev)
fake = G(pad(SIGMA * noise) + P, P)
err_real = -D(real).mean()
err_fake = D(fake.detach()).mean()
xh = (ALPHA_GP * real + (1 - ALPHA_GP) * fake.detach()).requires_grad_(True)
out = D(xh)
g, = torch.autograd.grad(out, xh, grad_outputs=torch.ones_like(out), create_graph=True)
gp = ((g.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
(err_real + err_fake + gp).backward()
d_grads = {k: v.clone() for k, v in grads("D", D).items()}
xh2 = (ALPHA_GP * real + (1 - ALPHA_GP) * fake.detach()).requires_grad_(True)
out2 = D_gp(xh2)
g2, = torch.autograd.grad(out2, xh2, grad_outputs=torch.ones_like(out2), create_graph=True)
(((g2.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA).backward()
gp_grads = {k: v.clone() for k, v in grads("D", D_gp).items()}
optD.step()

# generator step
G.zero_grad(); D.zero_grad()
fake2 = G(pad(SIGMA * noise) + P, P)
err_g = -D(fake2).mean()
R = pad(z_rec_prev)
rec = G(R, R)
rec_loss = REC_W * ((rec - real) ** 2).mean()
(err_g + rec_loss).backward()
g_grads = {k: v.clone() for k, v in grads("G", G).items()}
optG.step()

G.eval()
with torch.no_grad():
    eval_out = G(pad(SIGMA * noise) + P, P)

fixture = {
    "about": __doc__.strip().splitlines()[0],
    "config": {"nfc": NFC, "height": H, "width": W, "sigma": SIGMA, "gp_mix": ALPHA_GP, "gp_weight": LAMBDA,
               "rec_weight": REC_W, "lr": LR, "betas": [0.5, 0.999], "adam_eps": 1e-8, "leaky_slope": 0.2,
               "bn_eps": 1e-5, "bn_momentum": 0.1, "pad": 5,
               "order": "critic step: D(real), G forward (train mode), D(fake), penalty on a*real+(1-a)*fake, "
                        "one backward of the sum, Adam on D; generator step: G forward, D(fake2), G(rec_prev padded, "
                        "rec_prev padded), backward of -mean(D(fake2)) + rec_weight*mse, Adam on G; then G in "
                        "inference mode on the critic step's input"},
    "inputs": enc(inputs),
    "weights_before": enc(before),
    "results": {
        "fake": enc({"x": fake})["x"], "err_real": float(err_real.detach()), "err_fake": float(err_fake.detach()),
        "gradient_penalty": float(gp.detach()), "err_g": float(err_g.detach()), "rec_loss": float(rec_loss.detach()),
        "eval_output": enc({"x": eval_out})["x"],
    },
    "grads": enc({**d_grads, **g_grads}),
    "grads_penalty_only": enc(gp_grads),
    "weights_after": enc({**params("G", G), **params("D", D)}),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SinGANTests", "Resources", "singan_step.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print("wrote", os.path.relpath(path), "gp", round(float(gp.detach()), 6), "err_g", round(float(err_g.detach()), 6))
