"""Applicant ID numbers: GB 11643-1999 shape, birth date and check character; masking."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.casework.identity import check_id_number, is_valid_id_number, mask_id_number
from process_models.errors import InvalidInput


def oracle_check_character(first17: str) -> str:
    """The check character by the standard's own formula: weights 2^(17-i) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


@st.composite
def valid_id_numbers(draw) -> str:
    area = draw(st.integers(110000, 659999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    sequence = draw(st.integers(0, 999))
    first17 = f"{area:06d}{born:%Y%m%d}{sequence:03d}"
    return first17 + oracle_check_character(first17)


@pytest.mark.parametrize("number", [
    "11010519491231002X",   # GB 11643-1999 example
    "440524188001010014",   # GB 11643-1999 example (born 1880)
    "110101199003071233",
])
def test_published_and_hand_checked_numbers_are_valid(number):
    assert check_id_number(number) == number


def test_a_lower_case_x_and_surrounding_spaces_are_normalised():
    assert check_id_number(" 11010519491231002x ") == "11010519491231002X"


FULL_WIDTH = "１１０１０５１９４９１２３１００２Ｘ"


def test_full_width_digits_are_read_as_the_ascii_number_they_show():
    """Full-width characters (an IME's 全角 mode) are NFKC-normalised to the ASCII number."""
    assert check_id_number(FULL_WIDTH) == "11010519491231002X"


@given(valid_id_numbers())
def test_digits_of_other_scripts_are_refused_whatever_the_number(number):
    """Only ASCII digits (after NFKC) make an ID number: the same number in Arabic-Indic
    digits passes no check."""
    other = number[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + number[17]
    with pytest.raises(InvalidInput, match="must be 18 characters: 17 digits then a digit or X"):
        check_id_number(other)


def test_a_case_opened_with_a_full_width_id_number_stores_the_ascii_number(session):
    """What is stored is the normalised number, on SQLite and PostgreSQL alike."""
    from datetime import UTC, datetime

    from flows import casework
    from process_models.catalog import load_catalog_procedure

    proc = load_catalog_procedure("newborn")
    case = casework.open_case(session, proc, casework.Applicant("张三", FULL_WIDTH),
                              [i.material_id for i in casework.notification_list(proc)],
                              now=datetime.now(UTC))
    assert case.applicant_id_number == "11010519491231002X"


@pytest.mark.parametrize(("number", "message"), [
    ("110101199003071234", r"fails its checksum \(last character should be '3'\)"),
    ("11010519491231002", r"must be 18 characters: 17 digits then a digit or X"),
    ("1101051949123100XX", r"must be 18 characters"),
    ("110105194913310021", r"has no valid birth date \('19491331'\)"),
    ("110105209901010021", r"has no valid birth date \('20990101'\)"),
])
def test_bad_numbers_are_refused_with_the_reason(number, message):
    with pytest.raises(InvalidInput, match=r"^applicant_id_number: ID number .*" + message):
        check_id_number(number)


def test_the_message_names_the_field_it_was_given():
    with pytest.raises(InvalidInput, match=r"^guardian_id_number: ID number '1101"):
        check_id_number("110101199003071234", field="guardian_id_number")


@given(valid_id_numbers())
def test_numbers_built_by_the_standard_formula_are_accepted(number):
    assert is_valid_id_number(number)


@given(valid_id_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_to_a_valid_number_fails(number, position, shift):
    """MOD 11-2 detects every single-character substitution in the first 17 digits."""
    digit = (int(number[position]) + shift) % 10
    changed = number[:position] + str(digit) + number[position + 1:]
    assert not is_valid_id_number(changed)


@given(valid_id_numbers(), st.sampled_from("0123456789X"))
def test_a_changed_check_character_fails(number, check):
    changed = number[:17] + check
    assert is_valid_id_number(changed) == (check == number[17])


def test_masking_keeps_the_first_and_last_four_characters():
    assert mask_id_number("110101199003071234") == "1101**********1234"
