"""Language identification for the filter stage: English vs other languages, mixed pages, too little text."""

from __future__ import annotations

import pytest

from tasks.filter import langid
from tasks.filter.langid import detect, is_english

ENGLISH = (
    "Our team builds tools that help small businesses keep track of their orders, invoices and customers. "
    "Sign up today and get your first month free, with support from real people whenever you need it."
)
FOREIGN = {
    "de": "Unser Team entwickelt Werkzeuge, mit denen kleine Unternehmen ihre Bestellungen, Rechnungen und Kunden "
    "im Blick behalten. Melden Sie sich noch heute an und erhalten Sie den ersten Monat kostenlos.",
    "fr": "Notre équipe conçoit des outils qui aident les petites entreprises à suivre leurs commandes, leurs "
    "factures et leurs clients. Inscrivez-vous aujourd'hui et profitez du premier mois gratuit.",
    "es": "Nuestro equipo crea herramientas que ayudan a las pequeñas empresas a controlar sus pedidos, facturas "
    "y clientes. Regístrese hoy y obtenga el primer mes gratis, con ayuda de personas reales.",
    "zh": "我们的团队为小型企业打造工具，帮助他们管理订单、发票和客户。"
    "今天注册即可免费使用第一个月，并随时获得真人支持。",
    "ru": "Наша команда создаёт инструменты, которые помогают малому бизнесу следить за заказами, счетами и "
    "клиентами. Зарегистрируйтесь сегодня и получите первый месяц бесплатно.",
}


def test_english_paragraph_is_english():
    assert detect(ENGLISH)[0] == "en"
    ok, lang, score = is_english(ENGLISH, min_confidence=0.8, min_chars=40)
    assert ok and lang == "en" and score > 0.9


@pytest.mark.parametrize("code", sorted(FOREIGN))
def test_foreign_pages_are_rejected_with_their_language(code):
    text = FOREIGN[code]
    assert detect(text)[0] == code
    ok, lang, score = is_english(text, min_confidence=0.8, min_chars=40)
    assert not ok and lang == code and score >= 0.9


def test_mixed_page_goes_by_its_main_language():
    mostly_english = f"{ENGLISH} {ENGLISH.replace('today', 'now')} Willkommen bei uns, schön dass Sie da sind."
    assert is_english(mostly_english)[0]
    mostly_german = f"Home Pricing Blog Contact Sign in {FOREIGN['de']} Copyright 2024 All rights reserved"
    ok, lang, _ = is_english(mostly_german)
    assert not ok and lang == "de"


def test_numbers_prices_and_repeated_labels_are_too_little_text():
    figures = " ".join(f"{i * 37 % 1000} {i % 17}.{i % 10}% ${i * 91}.00 2024-{i % 12 + 1:02d}-01" for i in range(300))
    assert is_english(figures) == (True, "und", 0.0)
    assert detect(figures) == ("und", 0.0)
    # the raw model calls such tables Volapük; distinct words only leave "Q1 USD EBITDA ..." (too little)
    table = " ".join(f"Q{i % 4 + 1} 2024 {i * 1234 % 99999:,} USD {i % 17}.{i % 10}% EBITDA" for i in range(60))
    assert is_english(table) == (True, "und", 0.0)


def test_code_listing_is_not_rejected():
    code = (
        "function debounce(fn, ms) { let timer; return (...args) => { clearTimeout(timer); "
        "timer = setTimeout(() => fn.apply(this, args), ms); }; }\n"
        "const items = document.querySelectorAll('.card'); items.forEach((element, index) => { "
        "element.style.opacity = 0; setTimeout(() => element.classList.add('visible'), index * 120); });\n"
        ".container { max-width: 1200px; margin: 0 auto; padding: 0 24px; } .button { display: inline-block; "
        "background: #2563eb; color: #fff; border-radius: 8px; } nav { display: flex; gap: 24px; }"
    )
    assert langid.letter_weight(langid.language_words(code)) > 200
    assert is_english(code)[0]


def test_too_little_text_is_kept_as_undetermined():
    assert is_english("Willkommen! Preise", min_chars=40) == (True, "und", 0.0)
    assert is_english("", min_chars=0) == (True, "und", 0.0)
    assert is_english("42 + 17 = 59", min_chars=0) == (True, "und", 0.0)
    ok, lang, _ = is_english("Willkommen! Preise", min_chars=5)  # judged once the minimum allows it
    assert lang != "und"


def test_wide_script_letters_count_three():
    assert langid.letter_weight("abc 我们的团队") == 3 + 5 * 3
    short_chinese = "我们的团队为小型企业打造工具帮助管理订单"  # 20 characters = 60 > 40
    ok, lang, _ = is_english(short_chinese, min_chars=40)
    assert not ok and lang == "zh"


def test_min_confidence_above_one_never_rejects():
    assert is_english(FOREIGN["de"], min_confidence=1.01)[0]


def test_latin_placeholder_text_is_latin():
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore."
    assert is_english(lorem)[:2] == (False, "la")


def test_detection_is_deterministic_and_the_model_is_loaded_once():
    assert {detect(FOREIGN["es"]) for _ in range(5)} == {detect(FOREIGN["es"])}
    assert langid._model() is langid._model()


def test_long_text_is_capped():
    words = langid.language_words(" ".join(f"word{i}x" for i in range(100_000)))
    assert len(words) <= langid.MAX_CHARS
