"""Technician vocabulary, clinical triage and the answer decision, without the embedding model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import InvalidInput
from assistant.sops import text
from assistant.sops.decision import FEATURES, DecisionModel, fit_logistic, load_decision_model
from assistant.sops.evaluate import EvalQuestion, load_questions
from assistant.sops.fit_decision import DEFAULT_QUESTIONS
from assistant.sops.question_bank import BANK_FILES
from assistant.sops.ranker import load_ranker
from assistant.sops.text import expand_abbreviations, load_vocabulary
from assistant.sops.triage import drug_mentions, rule_triage, triage

# -- vocabulary ---------------------------------------------------------------------------------


def test_vocabulary_is_data_not_code() -> None:
    assert not hasattr(text, "ABBREVIATIONS")  # the table moved to knowledge/vocabulary/
    vocab = load_vocabulary()
    assert vocab.words["c2"] and vocab.words["rph"] == ("pharmacist",)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("c2 count short", "schedule ii controlled substance"),
        ("narcs in the safe", "controlled substances"),
        ("the cold unit is warm", "refrigerator"),
        ("ins rejected it", "insurance"),
        ("RTS the bag", "return to stock"),
        ("shot room kit", "immunization"),
        ("f/u call tomorrow", "follow up"),
        ("d/c the old rx", "discontinue"),
        ("new persciption", "prescription"),
        ("insurence card", "insurance"),
        ("PIC signs it", "pharmacist in charge"),
        ("we're oos", "out of stock"),
    ],
)
def test_shorthand_expands_to_the_sops_words(typed: str, meant: str) -> None:
    assert meant in expand_abbreviations(typed)


def test_expansion_keeps_the_original_words_and_ignores_parts_of_words() -> None:
    out = expand_abbreviations("capsule in the fridge")
    assert out.startswith("capsule in the fridge") and "refrigerator" in out
    assert expand_abbreviations("transplant") == "transplant"  # "pt"/"pa" inside a word do not fire


def test_document_side_matches_question_side() -> None:
    """An SOP that says 'refrigerator' and a question that says 'fridge' meet in one term."""
    sop_terms = set(text.content_terms(expand_abbreviations("Move items to the refrigerator")))
    q_terms = set(text.content_terms(expand_abbreviations("put it in the fridge")))
    assert "refriger" in sop_terms & q_terms


def test_a_broken_vocabulary_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "terms.yaml"
    bad.write_text("abbreviations: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid YAML") as exc:
        load_vocabulary(bad)
    assert "\n" not in str(exc.value)
    bad.write_text("- just a list\n")
    with pytest.raises(InvalidInput, match="expected a mapping"):
        load_vocabulary(bad)


# -- clinical triage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "pt asking if she can take ibuprofen with her warfarin",
        "how much tylenol can i give my 2 yr old, she weighs 26 lbs",
        "is it safe to take st johns wort with sertraline",
        "can you drink alcohol while on metronidazole",
        "breastfeeding mom asking if sudafed is ok",
        "renal dosing for metformin, pts egfr is 25",
        "pt wants to double up on his metoprolol cuz he missed yesterday",
        "eliquis and aspirin together ok?",
        "whats the max tylenol an adult can take in a day",
    ],
)
def test_clinical_questions_are_recognised(question: str) -> None:
    assert triage(question).clinical, question


@pytest.mark.parametrize(
    "question",
    [
        "oxycodone count is short",
        "pt wants his xanax filled 10 days early",
        "ups left the humira cooler on the porch all day, pt is asking if its still ok",
        "insulin pen box came dented, ok to dispense or toss?",
        "im pregnant, do i have to count the hazardous drugs",
        "customer wants 3 boxes of sudafed 12hr 120mg, is that over the daily max",
        "cvs on the line wanting to transfer a pts alprazolam over to us, can i take it",
        "how do i request PTO",
    ],
)
def test_procedural_questions_that_mention_drugs_are_not_clinical(question: str) -> None:
    assert not triage(question).clinical, (question, triage(question))


def test_drug_recognition_keeps_what_the_person_wrote() -> None:
    assert drug_mentions("can she take Tylenol with her Eliquis") == ["Tylenol", "Eliquis"]


# Written for these tests from general pharmacy practice (not taken from any evaluation set): how a
# technician types a question only a pharmacist may answer, often misspelled and without a drug name.
@pytest.mark.parametrize(
    "question",
    [
        "can my 8 month old get the flu shot yet",
        "pt is 30 weeks pregnant and wants the tdap, is that ok",
        "lady wants to know if she can get her covid booster and shingrix the same day",
        "guy says he got hives after his last pneumonia shot, can he still get the next one",
        "how much childrens motrin for a 3 yr old",
        "pt on lisnopril says her lips are swelling, what should she do",
        "she forgot her levothyroxin this morning, should she take 2 tomorrow",
        "pt on dialysis asking if he can take aleve for his back",
        "mom wants to know how many ml of amoxicilin to give her 30 lb son",
        "can you take ciprofloxin with milk",
        "pt says the new atorvastatn is giving her muscle pain, is that a side effect",
        "is 2 weeks too soon between the shingles shots",
        "guy wants to start melatonin, he's on warfrin",
        "can a pt with liver problems take tylenol",
        "whats the dose of prednisolone for a 20 kg kid",
        "pt asking if she can drink wine on her flagyll",
        "mom at the counter wants to know if her toddler can have zyrtec",
        "the amoxicillin dose on this script looks too high for a baby",
        "customer is allergic to eggs, can she still get a flu vaccine",
        # an accidental extra dose, with or without a drug name
        "he accidentally took his metoprolol twice today, what now",
        "pt took 2 of her water pills instead of 1 this am, will she be alright",
        "my mom took her pills twice by mistake, is she gonna be ok",
        # cross-reactivity is clinical even when the message is about filling
        "allergic to sulfa, dr sent bactrim, can we fill it or is there cross reactivity",
        # swapping one named drug for another is a therapeutic substitution, even in a stock question
        "no more lisinopril 20 in stock, can we just switch him to enalapril instead",
    ],
)
def test_clinical_questions_without_a_clean_drug_name_are_recognised(question: str) -> None:
    assert triage(question).clinical, (question, triage(question))


@pytest.mark.parametrize(
    "question",
    [
        "pharmacist wants me to log the tdap lot number, where does that go",
        "how do i bill a flu shot to medicare part b",
        "the shingrix shipment came in warm what do i do",
        "how many boxes of claritin d can one person buy a month",
        "the vis for the hpv vaccine is out of date, where do i get a new one",
        "pt is allergic to latex, do we have non latex gloves for the shot room",
        "who can give flu shots here, do techs need to be certified",
        "the kid at the counter wants to buy nyquil, do we card for that",
        "dr called in a rx for a 5 year old, do i need the weight on the profile",
        "how long do we keep the immunization consent forms",
        "pregnant tech asking if she has to handle the methotrexate",
        "interaction alert popped up during data entry, can i override it",
        "pt says the sulfa allergy on her profile is wrong, can i delete it",
        "how long do people have to wait after a shot before they leave",
        # two drug names listed in a longer message are not a question about taking them together
        "widow brought in a bag of her husbands oxycodone and hydrocodone, wants us to get rid of it, can we?",
        # "together" about people, not drugs
        "two sisters came in together asking about their xanax refills",
        # a delivery question, whatever the drug
        "fedex left her enbrel at the front door all day, is it still ok to use",
    ],
)
def test_procedural_questions_with_clinical_words_stay_with_the_sops(question: str) -> None:
    assert not triage(question).clinical, (question, triage(question))


@pytest.mark.parametrize(
    "question",
    [
        # rules miss these; the learned layer hands them to the pharmacist
        "pt says the happy pill her dr started 2 wks ago has her jittery and she cant sleep. normal?",
        "caregiver says her dad's nerve pills are making him wobbly, almost fell twice this wk. hes 84",
        "pt on lamotragine just started bcp, anything she should know",
    ],
)
def test_the_learned_layer_catches_what_the_rules_miss(question: str) -> None:
    assert not rule_triage(question).clinical
    found = triage(question)
    assert found.clinical and found.reasons[0].startswith("clinical model p=")


def test_the_learned_layer_errs_towards_the_pharmacist() -> None:
    """A known false hand-off (probability just over the threshold): the pharmacist gets a procedural
    question, which costs a minute; the opposite error would give a clinical question an SOP answer."""
    found = triage("the pt says her baby is sick and wants her rx filled early, can we")
    assert found.clinical and found.probability is not None and found.probability < 0.6


def test_without_the_model_file_the_rules_work_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.sops import triage as triage_module

    monkeypatch.setattr(triage_module, "load_clinical_model", lambda: None)
    question = "pt says the happy pill her dr started 2 wks ago has her jittery and she cant sleep. normal?"
    found = triage_module.triage(question)
    assert found == rule_triage(question) and found.probability is None


def test_misspelled_drugs_are_recognised_but_everyday_words_are_not() -> None:
    assert drug_mentions("pt on metforman and amoxcillin") == ["metforman", "amoxcillin"]
    assert drug_mentions("wants to add st johns wart to her zoloft") == ["zoloft", "st johns wart"]
    # "counter" is one edit from no drug but is an everyday word; "caps" is in the dictionary
    assert drug_mentions("lady at the counter wants easy open caps") == []
    assert not triage("mom at the counter asked where the restroom is").clinical
    assert triage("mom at the counter is breastfeeding, can she take sudafed").clinical


# -- the decision model ---------------------------------------------------------------------------


def test_shipped_model_matches_the_feature_list_and_the_tuning_set() -> None:
    model = load_decision_model()
    assert model.features == FEATURES
    assert 0.0 < model.tentative_threshold <= model.answer_threshold < 1.0
    import hashlib

    # fit on exactly these tuning and development files: edit one, refit (rxdesk eval fit-decision)
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in DEFAULT_QUESTIONS}
    assert model.meta["questions_sha256"] == expected
    assert load_ranker().meta["questions_sha256"] == expected
    assert "holdout_v4.jsonl" not in expected  # the fresh held-out set is never fitted on
    assert all(p.name != "holdout_v4.jsonl" for p in BANK_FILES)  # ... nor among the known questions


def test_more_evidence_never_lowers_the_probability() -> None:
    model = load_decision_model()
    base = dict.fromkeys(FEATURES, 0.3)
    for name, weight in zip(model.features, model.coef, strict=True):
        if weight > 0:
            assert model.probability({**base, name: 0.9}) > model.probability(base), name


def test_decide_uses_both_thresholds() -> None:
    model = DecisionModel.cosine_only(0.5).with_thresholds(0.8, 0.4)
    assert [model.decide(p) for p in (0.9, 0.5, 0.1)] == ["answer", "tentative", "abstain"]


def test_fit_logistic_recovers_a_known_direction() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] + rng.normal(scale=0.3, size=400) > 0).astype(float)
    coef, _ = fit_logistic(x, y, l2=1.0)
    assert coef[0] > 0 > coef[1] and abs(coef[0]) > abs(coef[1])


def test_malformed_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"features": ["best_cosine", "shoe_size"], "mean": [0, 0]}))
    with pytest.raises(InvalidInput, match="malformed decision model"):
        load_decision_model(bad)


# -- question file formats -------------------------------------------------------------------------


def test_question_file_accepts_old_and_new_shapes(tmp_path: Path) -> None:
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"question": "a", "expected_sop": "VAC-001"}\n'
        '{"question": "b", "expected_sop": ["VAC-001", "STR-001"]}\n'
        '{"question": "c", "expected_sop": null}\n'
        '{"question": "d", "expected_sop": null, "clinical": true}\n'
    )
    qs = load_questions(f)
    assert [q.acceptable for q in qs] == [["VAC-001"], ["VAC-001", "STR-001"], [], []]
    assert [q.clinical for q in qs] == [False, False, False, True]
    assert EvalQuestion(question="x", expected_sop=None).acceptable == []
