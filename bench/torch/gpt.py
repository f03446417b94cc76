"""The GPT-2-shaped model that bench/torch/train_bench.py trains and
tests/gpu/torch_train.py trains twice for identical losses: pre-norm blocks,
tied embedding and head, GPT-2's initialisation. w gives width, heads,
layers, vocab, max_len and attention: "sdpa" (the fused kernel) or
"explicit" (written out: every op has a deterministic CUDA path)."""


def make_model(torch, w):
    nn, F = torch.nn, torch.nn.functional
    width, heads = w["width"], w["heads"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            if w["attention"] == "sdpa":
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (c // heads) ** -0.5
                mask = torch.ones(t, t, device=x.device, dtype=torch.bool).triu(1)
                y = att.masked_fill(mask, float("-inf")).softmax(dim=-1) @ v
            x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
            return x + self.fc2(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(w["vocab"], width), nn.Embedding(w["max_len"], width)
            self.blocks = nn.ModuleList(Block() for _ in range(w["layers"]))
            self.ln_f = nn.LayerNorm(width)
            self.head = nn.Linear(width, w["vocab"], bias=False)
            self.head.weight = self.wte.weight  # tied, as GPT-2
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, std=0.02)
                    if getattr(m, "bias", None) is not None:
                        nn.init.zeros_(m.bias)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPT()
