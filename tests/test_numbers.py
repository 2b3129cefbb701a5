"""The multilingual factor reader (cnaps/answer/numbers.py) and the request it feeds."""

import pytest

from cnaps.answer.numbers import find_factors, read_cjk, read_digits, read_korean
from cnaps.answer.stage2_request import extract_request


@pytest.mark.parametrize("text, value", [
    ("2,5", 2.5), ("2.5", 2.5), ("１２", 12.0), ("1,200", None), ("abc", None)])
def test_digits_with_a_decimal_comma(text, value):
    assert read_digits(text) == value


@pytest.mark.parametrize("text, value", [
    ("三", 3), ("十", 10), ("十二", 12), ("二十四", 24), ("一百", 100), ("两", 2), ("二点五", 2.5), ("２", 2),
    ("二三", None)])
def test_chinese_and_japanese_numerals(text, value):
    assert read_cjk(text) == value


@pytest.mark.parametrize("text, value", [("이", 2), ("십이", 12), ("두", 2), ("다섯", 5), ("2.5", 2.5), ("배", None)])
def test_korean_numbers(text, value):
    assert read_korean(text) == value


@pytest.mark.parametrize("question, value, quoted", [
    ("Kann ich es vierfach vergrößern?", 4, "vierfach"),              # de, number word glued
    ("Bitte 2,5-fach größer.", 2.5, "2,5-fach"),                      # de, decimal comma
    ("Geht das zweieinhalbfach?", 2.5, "zweieinhalbfach"),            # de, glued fraction
    ("Je voudrais l'agrandir cinq fois.", 5, "cinq fois"),            # fr
    ("deux fois et demie plus grand", 2.5, "deux fois et demie"),      # fr, fraction after
    ("Si la amplío tres veces, ¿se nota?", 3, "tres veces"),          # es, accented verb
    ("Vorrei ingrandirlo sei volte.", 6, "sei volte"),                # it
    ("ampliar a foto duas vezes e meia", 2.5, "duas vezes e meia"),   # pt
    ("照片放大了三倍，看起来", 3, "三倍"),                              # zh
    ("二点五倍に拡大", 2.5, "二点五倍"),                                # ja, decimal in kanji
    ("画像を8倍に拡大したい", 8, "8倍"),                                # ja, digits
    ("사진을 2배로 키우고 싶은데", 2, "2배"),                             # ko, digits
    ("두 배 반으로 확대", 2.5, "두 배 반"),                               # ko, native number + half
    ("x2,5 bitte", 2.5, "x2,5"),
])
def test_factor_expressions_in_nine_languages(question, value, quoted):
    found = find_factors(question)
    assert [(f.value, question[f.start:f.end]) for f in found] == [(value, quoted)]


@pytest.mark.parametrize("question", [
    "Je le fais trois fois par jour.",       # a count of events: no size word in the sentence
    "Ich habe 2019 fotografiert.",
    "배경이 흐릿해요",                          # 배 starting another word, no number before it
])
def test_counts_and_other_numbers_are_not_factors(question):
    assert [f.value for f in find_factors(question)] == []


@pytest.mark.parametrize("question, scales, degradations", [
    ("Ich habe nachts fotografiert, das Bild ist ziemlich körnig. Kann ich es vierfach vergrößern?",
     [4.0], ["noise"]),
    ("Puis-je agrandir les photos de 800x600 à 3200x2400 ? Les images ne sont pas bruitées.", [4.0], []),
    ("Für manche Bilder 1,5-fach, wenn das SwinIR-Modell nur genau 2x kann?", [1.5], []),
    ("帮我把 screenshot 放大 1.5x，文字的 edges 要清楚，不要糊。", [1.5], []),
    ("Ho scansionato un manifesto; la scansione è pulita, senza rumore né compressione.", [], []),
    ("Can I make it two and three-quarter times bigger?", [2.75], []),
    ("The scan is a 1200x800 JPEG full of blocks. The print shop asks for 3000x2000.", [2.5], ["jpeg"]),
    ("My son's photo is smeared because he was sprinting past me.", [], ["blur"]),
])
def test_the_request_reads_other_languages(question, scales, degradations):
    request = extract_request(question)
    assert (request.scales, request.degradations) == (scales, degradations)
    for e in request.evidence:  # evidence quotes the user's own words
        assert question[e.start:e.end] == e.text


@pytest.mark.parametrize("question, scales", [
    ("Ich möchte die Auflösung verdoppeln.", [2.0]),
    ("Je voudrais tripler la taille de la photo.", [3.0]),
    ("Quiero duplicar el tamaño de mi foto.", [2.0]),
    ("我想把照片翻倍放大", [2.0]),
    ("Can I triple-check this first?", []),  # English multiplier words keep the grammar's rules
])
def test_multiplier_words_of_other_languages(question, scales):
    assert extract_request(question).scales == scales


@pytest.mark.parametrize("question, keeps", [
    ("Ich brauche es nicht größer, nur schärfer; das Bild ist verwackelt.", True),
    ("Je ne veux pas l'agrandir, seulement enlever le bruit.", True),
    ("Non voglio ingrandirla, solo togliere il rumore.", True),
    ("La photo n'est pas assez grande, je veux l'agrandir.", False),  # not big *enough*: wants it bigger
])
def test_no_enlargement_wanted_in_other_languages(question, keeps):
    assert extract_request(question).keeps_size is keeps


@pytest.mark.parametrize("question, scales, degradations", [
    ("Ik wil de foto twee keer zo breed hebben; hij is nogal wazig.", [2.0], ["blur"]),      # nl
    ("Jag vill förstora bilden fyra gånger, den är inte suddig.", [4.0], []),              # sv
    ("Chcę powiększyć zdjęcie ośmiokrotnie, jest mocno zaszumione.", [8.0], ["noise"]),     # pl
    ("Можно ли увеличить фото в четыре раза? Оно размыто.", [4.0], ["blur"]),              # ru
    ("Fotoğrafı iki katına büyütmek istiyorum; sıkıştırma yüzünden bozuldu.", [2.0], ["jpeg"]),  # tr
    ("Phóng to ảnh gấp 20 lần được không?", [20.0], []),                                  # vi
    ("Mam zdjęcie z 1962 roku, odbitkę 6x9 cm.", [], []),   # a year and a print size, no factor
    ("Tôi có 3 bức ảnh năm 2005.", [], []),                 # "năm" is also "year": no times word
    ("तस्वीर थोड़ी धुंधली है। मैं इसे दो गुना से पाँच गुना तक छापना चाहता हूँ।", [2.0, 5.0], ["blur"]),  # hi
    ("तस्वीर में बहुत शोर है, मुझे इसे चार गुना बड़ा करना है।", [4.0], ["noise"]),           # hi
    ("الآن أريد تكبيرها ثلاث مرات. الصورة ليست مشوشة.", [3.0], []),                     # ar
    ("الصورة مشوشة قليلاً وأريد تكبيرها مرتين.", [2.0], ["noise"]),                     # ar
])
def test_languages_read_from_a_table_of_number_words(question, scales, degradations):
    request = extract_request(question)
    assert (request.scales, request.degradations) == (scales, degradations)


def test_a_stem_of_another_language_does_not_read_english_words():
    assert extract_request("The brushwork of the painting must stay visible at 4x.").degradations == []


@pytest.mark.parametrize("question, scales, degradations", [
    ("我只有一张295×413像素的证件照，现在要求上传590×826的。", [2.0], []),   # sizes inside CJK text
    ("JPEGの圧縮がきつくて、空にブロックノイズが出ています。5倍に拡大したい。", [5.0], ["jpeg"]),  # blocking, not noise
    ("노이즈가 생길까 봐 걱정돼요. 3배로 키우고 싶어요.", [3.0], []),       # a feared output
    ("노이즈가 많아서 걱정이에요.", [], ["noise"]),                         # a worry about the input
    ("我怕放大以后更糊。", [], []),
    ("照片很糊，我很担心。", [], ["blur"]),
    ("J'ai peur que les traits fins et les numéros de parcelles deviennent flous.", [], []),
    ("As originais não estão borradas nem com ruído.", [], []),              # "nem": nor
    ("Vorrei triplicarne le dimensioni per riuscire a leggere le formule in un modello.", [3.0], []),
])
def test_fears_negations_and_sizes_of_other_languages(question, scales, degradations):
    request = extract_request(question)
    assert (request.scales, request.degradations) == (scales, degradations)


@pytest.mark.parametrize("question, scales", [
    ("Quiero ampliarla al 300 % para imprimirla.", [3.0]),            # a foreign scaling verb
    ("작은 상품 사진을 3배에서 4배 사이로 키우려고 합니다.", [3.0, 4.0]),  # "에서": from
    ("原图只有 640 px 宽，我想 upscale 到 2560 px 宽。", [4.0]),          # "到": to
    ("I have photos that I need to double in size.", [2.0]),
])
def test_more_ways_to_ask_for_a_factor(question, scales):
    assert extract_request(question).scales == scales
