"""The learned head: trained from real labelled documents, saved and loaded exactly,
deterministic, used by the classifier with its own thresholds; analysts' corrections
become training data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from omvarld.core.model import Document
from omvarld.nlp.classifier import FocusAreaClassifier
from omvarld.nlp.evaluate import as_input, read_labelled
from omvarld.nlp.head import LearnedHead, TrainingSet, feature_matrix, load_default_head, train_head
from omvarld.nlp.training import Corpus, compute_features, train
from omvarld.nlp.vectorcache import VectorFile

DEV = Path(__file__).parent.parent / "fixtures" / "labelled" / "dev.jsonl"


@pytest.fixture(scope="module")
def dev_docs(focus_areas):
    return read_labelled(DEV, focus_areas.ids)


@pytest.fixture(scope="module")
def dev_features(classifier, dev_docs):
    return compute_features(classifier, dev_docs)


@pytest.fixture(scope="module")
def dev_set(dev_features, dev_docs, focus_areas, classifier_config):
    X = feature_matrix(dev_features, classifier_config.margin_scale)
    Y = np.array([[int(a in d.labels) for a in focus_areas.ids] for d in dev_docs])
    return TrainingSet(X=X, Y=Y, weights=np.ones(len(Y)), careful=np.ones(len(Y), bool),
                       keys=[as_input(d).key for d in dev_docs])


@pytest.fixture(scope="module")
def head(dev_set, focus_areas, nano_encoder, classifier_config):
    return train_head(dev_set, focus_areas.ids, model_id=nano_encoder.model_id,
                      margin_scale=classifier_config.margin_scale)


def test_head_records_its_training_set_and_cross_validated_scores(head, dev_set):
    assert head.meta["training_set"] == dev_set.digest()
    assert head.meta["careful_documents"] == 72
    cv = head.meta["cross_validated"]
    assert 0.5 < cv["macro_f1"] <= 1.0
    assert set(cv["f1"]) == set(head.areas)
    assert all(0.05 <= t <= 0.95 for t in head.thresholds.values())
    assert head.version.startswith("head-v2:")


def test_saved_head_loads_to_the_same_probabilities(head, dev_set, tmp_path):
    path = tmp_path / "head.json"
    head.save(path)
    loaded = LearnedHead.load(path)
    assert np.allclose(loaded.probabilities(dev_set.X), head.probabilities(dev_set.X),
                       atol=1e-4)
    assert loaded.thresholds == head.thresholds
    assert json.loads(path.read_text())["meta"]["training_set"] == dev_set.digest()


def test_training_is_deterministic(dev_set, head, focus_areas, nano_encoder, tmp_path):
    again = train_head(dev_set, focus_areas.ids, model_id=nano_encoder.model_id,
                       margin_scale=head.margin_scale)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    head.save(a)
    again.save(b)
    strip = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "meta"}  # noqa: E731
    assert strip(a) == strip(b)


def test_a_head_for_other_areas_or_model_is_not_used(head, tmp_path, focus_areas):
    path = tmp_path / "head.json"
    head.save(path)
    assert load_default_head(focus_areas.ids, head.model_id, path) is not None
    assert load_default_head(focus_areas.ids[:5], head.model_id, path) is None
    assert load_default_head(focus_areas.ids, "another-model", path) is None
    assert load_default_head(focus_areas.ids, head.model_id, tmp_path / "nothing.json") is None


def test_classifier_with_head_labels_by_probability_and_area_threshold(
        head, focus_areas, classifier_config, nano_encoder, dev_docs):
    clf = FocusAreaClassifier(focus_areas, classifier_config, nano_encoder, head=head)
    (result,) = clf.classify([as_input(dev_docs[0])])
    assert all(lb.model_version.startswith("head-v2:") for lb in result.labels)
    for label in result.labels:
        assert 0.0 <= label.score <= 1.0
        assert label.threshold == round(head.thresholds[label.area], 4)
    assert [lb.area for lb in result.accepted] == dev_docs[0].labels == ["miljo"]


def test_analysts_corrections_become_careful_training_data(store, focus_areas):
    store.save_document(Document(
        url="https://www.regeringen.se/x/", source="regeringen", publisher="R",
        level="national", title="Ny stambana Malmö–Stockholm", text="Trafikverket bygger."))
    doc_id = store.documents()[0].id
    store.add_feedback(doc_id, "transport", "add", author="analytiker", comment="järnväg")
    store.add_feedback(doc_id, "bostader", "add", author="analytiker")
    store.add_feedback(doc_id, "bostader", "remove", author="analytiker", comment="nej")
    (doc,) = store.corrected_documents(focus_areas.ids)
    assert doc.labels == ["transport"]
    assert doc.title == "Ny stambana Malmö–Stockholm"
    with pytest.raises(ValueError, match="add' or 'remove"):
        store.add_feedback(doc_id, "transport", "maybe", author="x")


def test_train_writes_a_head_from_a_corpus(classifier, dev_docs, dev_features, tmp_path):
    # the vectors file already holds these texts' vectors: training embeds nothing
    vectors = VectorFile(tmp_path / "vectors.npz")
    pairs = zip(dev_docs, dev_features, strict=True)
    vectors.put_embeddings({as_input(d).key: f.vector for d, f in pairs},
                           classifier.encoder.model_id)
    vectors.save()
    out = tmp_path / "head.json"
    head = train(classifier, Corpus(careful=dev_docs[:40], weak=dev_docs[40:]),
                 vectors=tmp_path / "vectors.npz", out=out)
    assert out.is_file()
    assert head.meta["careful_documents"] == 40 and head.meta["weak_documents"] == 32
    assert (tmp_path / "vectors.npz").is_file()  # the vectors are kept for the next run


def test_no_threshold_lets_one_vocabulary_word_alone_pass(head, dev_set, focus_areas):
    """The floor: an ordinary document not about the area (the mean of its negatives)
    with one of the area's words, in its title too, stays below every threshold."""
    floors = head.meta["one_word_floor"]
    n = len(focus_areas.ids)
    dims = dev_set.X.shape[1] - 3 * n
    for j, area in enumerate(focus_areas.ids):
        assert head.thresholds[area] > floors[area]
        row = dev_set.X[dev_set.Y[:, j] == 0].mean(axis=0)
        row[dims + n + j] = np.log1p(1.0)
        row[dims + 2 * n + j] = 1.0
        assert head.probabilities(row[None, :])[0, j] < head.thresholds[area]


def test_scores_are_calibrated_on_out_of_fold_scores(head, dev_set):
    """Platt scaling per area: scores stay probabilities, and the calibration is stored
    and reloaded with the head."""
    assert head.calibration is not None and head.calibration.shape == (6, 2)
    assert (head.calibration[:, 0] > 0).all()  # a higher raw score stays a higher probability
    P = head.probabilities(dev_set.X)
    assert ((P >= 0) & (P <= 1)).all()


def test_weak_labels_count_as_the_probability_that_they_are_right(dev_set, focus_areas,
                                                                   nano_encoder):
    from omvarld.nlp.training import LABEL_QUALITY, soft_targets

    careful = np.arange(len(dev_set.Y)) < 40
    q = LABEL_QUALITY["regeringen"]
    T = soft_targets(dev_set.Y, careful, [q] * int((~careful).sum()))
    assert (T[careful] == dev_set.Y[careful]).all()
    assert set(np.unique(T[~careful])) <= {q.precision, q.miss}


def test_an_earlier_format_1_head_still_loads_and_scores(dev_set, focus_areas, nano_encoder,
                                                         tmp_path):
    old = train_head(dev_set, focus_areas.ids, model_id=nano_encoder.model_id,
                     margin_scale=0.01, format=1)
    path = tmp_path / "head.json"
    old.save(path)
    loaded = LearnedHead.load(path)
    assert loaded.version.startswith("head-v1:") and loaded.calibration is None
    assert loaded.raw_terms
    assert np.allclose(loaded.probabilities(dev_set.X), old.probabilities(dev_set.X), atol=1e-4)


def test_calibration_error_is_zero_when_scores_are_frequencies():
    from omvarld.nlp.evaluate import calibration_error

    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert calibration_error(y, p) == pytest.approx(0.0)
    assert calibration_error(y, np.full(8, 0.9)) == pytest.approx(0.4)
