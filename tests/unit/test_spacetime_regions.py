"""The Regions container that Region Prompt Encode hands to the patch."""
import pytest
import torch

from spacetime.regions import Regions


def test_regions_container_checks_shapes():
    e = torch.zeros(1, 77, 8)
    r = Regions([e, torch.zeros(1, 154, 8)], [None, None], torch.zeros(2, 4), torch.zeros(2, 2), ["a", "b"],
                ["pa", "pb"], e)
    assert len(r) == 2 and r.context_dim == 8 and r.describe()[1]["tokens"] == 154
    with pytest.raises(ValueError, match="width"):
        Regions([torch.zeros(1, 77, 4)], [None], torch.zeros(1, 4), torch.zeros(1, 2), ["a"], ["p"], e)


def test_regions_keep_the_text_encoders_other_outputs_one_dict_per_region():
    e = torch.zeros(1, 8, 4)
    ids = {"t5xxl_ids": torch.tensor([3, 1])}
    r = Regions([e, e], [None, None], torch.zeros(2, 4), torch.zeros(2, 2), ["a", "b"], ["pa", "pb"], e)
    assert r.extras == [{}, {}] and r.empty_extras == {}
    r = Regions([e, e], [None, None], torch.zeros(2, 4), torch.zeros(2, 2), ["a", "b"], ["pa", "pb"], e,
                extras=[ids, ids], empty_extras=ids)
    assert r.extras[1] is ids
    with pytest.raises(ValueError, match="extras must have one entry per region"):
        Regions([e, e], [None, None], torch.zeros(2, 4), torch.zeros(2, 2), ["a", "b"], ["pa", "pb"], e, extras=[ids])
