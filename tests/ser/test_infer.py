"""predict_posteriors."""

from __future__ import annotations

import numpy as np
import torch

from emorl.ser.infer import predict_posteriors
from emorl.ser.model import SERClassifier


def test_posteriors_are_the_softmax_of_each_utterance_alone(tiny_feats):
    torch.manual_seed(0)
    model = SERClassifier(6, 2, 4, hidden_dims=[8])
    feats = dict(list(tiny_feats[0].items())[:9])
    posteriors = predict_posteriors(model, feats, batch_size=4)
    assert sorted(posteriors) == sorted(feats) and model.training  # mode restored
    for utt, x in feats.items():
        with torch.no_grad():
            model.eval()
            expected = torch.softmax(model(torch.from_numpy(x)[None], torch.tensor([len(x)])), -1)[
                0
            ]
            model.train()
        np.testing.assert_allclose(posteriors[utt], expected.numpy(), rtol=1e-5, atol=1e-6)
        assert posteriors[utt].dtype == np.float32
