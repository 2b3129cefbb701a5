"""The request grammar (cnaps/answer/stage2_request.py), one short hand-written sentence per rule and exclusion."""

from __future__ import annotations

import pytest

from cnaps.answer.records import Request
from cnaps.answer.stage2_request import extract_request, tokenize


def scales(question: str) -> list[float]:
    return extract_request(question).scales


def degradations(question: str) -> list[str]:
    return extract_request(question).degradations


# ------------------------------------------------------------------ factors that are asked

@pytest.mark.parametrize("question, expected", [
    # a range gives both ends, whichever way it is joined
    ("Somewhere between 2 and 6 times the original would do.", [2.0, 6.0]),
    ("Enlarge it 2 to 5 times.", [2.0, 5.0]),
    ("Can I enlarge it 2 or 3 times?", [2.0, 3.0]),
    ("Enlarge it 3-6x.", [3.0, 6.0]),
    # a foreign multiplier word in a sentence that mixes in English, with a size word of its language
    ("Quiere la foto al doble de grande for the website.", [2.0]),
    # a multiplication sign before or after the number, glued or spaced, any case
    ("Blow my sketch up 3x please.", [3.0]),
    ("Can it handle 2.75x?", [2.75]),
    ("I want X6 on the map tile.", [6.0]),
    ("Try ×9 on the crop.", [9.0]),
    ("Give me an 11× version.", [11.0]),
    ("Upscale it x 5 for me.", [5.0]),
    ("A 4X upscale of the badge.", [4.0]),
    # "N times" with a comparative, a size noun, or after a scaling verb
    ("Make the stamp five times larger.", [5.0]),
    ("I need it 2.5 times bigger.", [2.5]),
    ("a twelve times sharper picture of the moon", [12.0]),
    ("Print the logo at four times the size.", [4.0]),
    ("Print the slides at 3 times their scan size.", [3.0]),
    ("I want six times its resolution.", [6.0]),
    ("Could the label be seven times as wide?", [7.0]),
    ("Please magnify the leaf eleven times.", [11.0]),
    ("We upscaled the tile 3 times for the mural.", [3.0]),
    ("Zoom the coin twenty times.", [20.0]),
    ("How big can I make it, maybe 8 times?", [8.0]),
    ("Blow the poster up twenty-four times.", [24.0]),
    # fractions in words
    ("Make it two and a half times bigger.", [2.5]),
    ("only one and a half times larger, nothing more", [1.5]),
    ("Make it 1½ times bigger.", [1.5]),
    # N-fold, Nfold, number-word fold
    ("a 3-fold enlargement of the chart", [3.0]),
    ("We need an 8fold zoom.", [8.0]),
    ("Is a fivefold upscale realistic?", [5.0]),
    ("a twelve-fold magnification", [12.0]),
    # factor / magnification of N
    ("Scale the icon by a factor of 6.", [6.0]),
    ("a magnification of 14 for the slide", [14.0]),
    ("a zoom factor of two", [2.0]),
    ("upscaled by a factor x3", [3.0]),
    ("Can I run it with scale 3.5?", [3.5]),
    # "by N" after a scaling verb
    ("Enlarge the banner by 5 for the fair.", [5.0]),
    ("Upscale these sprites by 2.", [2.0]),
    # percentages above 100 when they are about size
    ("Could I enlarge the drawing to 250%?", [2.5]),
    ("At 800% the badge still needs to read well.", [8.0]),
    ("Enlarge it by 50% for the flyer.", [1.5]),
    ("I want the print 150 percent of the original size.", [1.5]),
    # multiplier words used as verbs or with a size
    ("Please double my avatar.", [2.0]),
    ("I doubled the map and it looked soft.", [2.0]),
    ("Can we triple its height?", [3.0]),
    ("The panels were quadrupled for the banner.", [4.0]),
    ("I need the postcard twice as big.", [2.0]),
    ("Make the chart twice the size.", [2.0]),
    ("Tripling the badge is next.", [3.0]),
    # sizes that imply a factor
    ("I need to go from 64 to 512 pixels wide.", [8.0]),
    ("Turn a 300 px image into 1200 px.", [4.0]),
    ("The avatar is 120 px and should be 360 px.", [3.0]),
    ("Take a 200 px logo up to 500 px.", [2.5]),
    ("Resize from 512x512 to 2048x2048.", [4.0]),
    ("The badge is 150 pixels wide and I need it 600 pixels wide.", [4.0]),
    ("a 100 by 100 px sprite that should be 300 by 300", [3.0]),
    ("Convert the 480p clip to 1440p.", [3.0]),
    ("The print needs 3600 px, and my photo is 900 px.", [4.0]),
    ("Upscale from 256 to 1024, please.", [4.0]),
    ("They're 100px tiles; I need them at... no, I need them to be 400px.", [4.0]),
    # several factors, in order of mention, unique
    ("Show me 2x, 4x and 8x side by side.", [2.0, 4.0, 8.0]),
    ("First x3, then double it again, then 3x once more.", [3.0, 2.0]),
    ("Sizes: 1.5x or 2.5x or 3x.", [1.5, 2.5, 3.0]),
])
def test_asked_factors(question, expected):
    assert scales(question) == expected


# ------------------------------------------------------------------ numbers that are not factors

@pytest.mark.parametrize("question, why", [
    ("My sprites are 32x32 and look fine.", "image size"),
    ("The wallpaper is 2560 × 1440.", "image size"),
    ("It is a 5x7 print from my aunt.", "print or physical size"),
    ("I want an 11x14 inch frame.", "print or physical size"),
    ("This photo was taken in 1964.", "year"),
    ("It is from the 1970s.", "decade"),
    ("I have 250 photos to sort.", "a count"),
    ("Shot at ISO 400 in daylight.", "ISO setting"),
    ("My 24 megapixel camera is fine.", "megapixels"),
    ("My 48MP phone shot it.", "megapixels"),
    ("The scanner does 1200 dpi.", "scanner or print resolution (dpi)"),
    ("Print at 300 pixels per inch.", "scanner or print resolution (dpi)"),
    ("I own an iPhone 13 and a Pixel 8.", "model or product name"),
    ("Is RealESRGAN_x4plus any good?", "model or product name"),
    ("It plays on an 8K screen.", "display resolution name (4K, 8K)"),
    ("Every run takes 12 seconds.", "a quantity (time, memory)"),
    ("My 3rd attempt failed.", "ordinal"),
    ("A 35 mm slide.", "physical length"),
    ("Does it run on x86 laptops?", "model or product name"),
    ("The 16:9 frame is small.", "aspect ratio"),
    ("Print it 8 by 10 inches.", "print or physical size"),
    ("The icon is 48 pixels tall.", "pixel length"),
])
def test_numbers_that_are_not_factors(question, why):
    request = extract_request(question)
    assert request.scales == []
    assert why in [i.why for i in request.ignored], request.ignored


@pytest.mark.parametrize("question", [
    "I shot 20 to 30 photos and want them sharper.",
    "I tried it three times and gave up.",
    "Did it 5 times already.",
    "It is 200% faster than my laptop.",
    "Accuracy went up by 40% on my set.",
    "I need to double-check the file.",
    "A double exposure from my film camera.",
    "I read the paper twice.",
    "Rate it on a scale of 1 to 10.",
    "Resize by 50% for the web.",
    "Make it 2x smaller.",
    "Shrink the 1200 px banner to 300 px.",
    "An x-ray of my hand.",
    "I counted from 100 to 400 sheep.",
    "One network, two tasks.",
    "The 4x6 card is tiny.",
])
def test_sentences_without_a_factor(question):
    assert scales(question) == []


# ------------------------------------------------------------------ contrasted factors

@pytest.mark.parametrize("question, expected, contrasted", [
    ("Old tools only did 2x, but I want 9x.", [9.0], ["2x"]),
    ("My previous app only offered 2x or 3x; now I need 5x.", [5.0], ["2x", "3x"]),
    ("Not 3x but 10x, please.", [10.0], ["3x"]),
    ("I'd rather not do 4x; give me 6x.", [6.0], ["4x"]),
    ("Rather than 2x, can it do 2.6x?", [2.6], ["2x"]),
    ("Instead of 8x, try 12x.", [12.0], ["8x"]),
    ("My usual setting is 2x, and this time I need 5x.", [5.0], ["2x"]),
    ("I normally stop at 300%, and today I want 700%.", [7.0], ["300%"]),
    ("The default 4x preset is too much; 3x is enough.", [3.0], ["4x"]),
    ("Our software tops out at 4x, and I need 16x.", [16.0], ["4x"]),
    ("I don't need 8x, just 2x.", [2.0], ["8x"]),
    ("Why does one model do 1.7x, 3x and 11x when classic upscalers only support 2x or 4x?",
     [1.7, 3.0, 11.0], ["2x", "4x"]),
    ("Unlike 2x, a 6x zoom needs more care.", [6.0], ["2x"]),
    ("Most apps offer 2x; I need 7x.", [7.0], ["2x"]),
    ("My current editor does 2x; can this do 3.3x?", [3.3], ["2x"]),
    ("Conventional tools give 4x, and I want 4.5x.", [4.5], ["4x"]),
    ("2x is the max in my editor; can AI do 5x?", [5.0], ["2x"]),
    ("Can it do 9x, or does it fail past 4x like my old plugin?", [9.0], ["4x"]),
    ("My telescope gives 50x; can software add 3x more?", [3.0], ["50x"]),
    ("The lens has 10x optical zoom, and I want 2x on top.", [2.0], ["10x"]),
    # once contrasted, a repeated factor stays a contrast
    ("Skip the usual 4x; I want 3x, since 4x files are too big.", [3.0], ["4x", "4x"]),
])
def test_contrasted_factors(question, expected, contrasted):
    request = extract_request(question)
    assert request.scales == expected
    assert sorted(i.text for i in request.ignored if "contrast" in i.why or "negated" in i.why) == contrasted


def test_a_past_factor_is_a_contrast_only_when_another_is_asked_now():
    request = extract_request("Years ago I enlarged it 2x with an app; now I want 6x.")
    assert request.scales == [6.0] and "past" in request.ignored[0].why
    assert scales("I enlarged it 3x last week and the grain got huge. Why?") == [3.0]
    assert scales("I already tried 2x and 3x; what about 5x?") == [5.0]
    assert scales("I tried 2x, 3x and 4x; which looks most natural?") == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("question, expected", [
    # a verb in the simple past, after its subject, dates the factor
    ("Our old pipeline just applied 2x bicubic; now we need 4x.", [4.0]),
    ("The freelancers delivered 4x versions, but I need 8x.", [8.0]),
    ("My phone doubled it, now I need 3x.", [3.0]),
    # a participle after a want verb or an object is the request, not the past
    ("I need it enlarged 4x and 8x.", [4.0, 8.0]),
    ("I'd like the photo enlarged 4x, maybe 6x.", [4.0, 6.0]),
    # alone, a past factor is still what the question is about
    ("We tested 2x and 4x and want to know which works.", [2.0, 4.0]),
    # output versions are no model's own scale
    ("I need 2x and 3x versions of the logo.", [2.0, 3.0]),
])
def test_a_finite_past_verb_dates_its_factor(question, expected):
    assert scales(question) == expected


@pytest.mark.parametrize("question, expected, dated", [
    # another person's factor is a contrast when the asker wants another one
    ("My photographer friend swears by Real-ESRGAN and runs everything at 4x. For the calendar "
     "I need the crops three and a half times bigger.", [3.5], []),
    ("My colleague always upscales at 4x. I need 3x.", [3.0], []),
    ("She enlarges her scans 2x; I need 8x for a poster.", [8.0], []),
    # alone, it is what the question is about, and it is no request of the asker's
    ("My brother runs everything at 4x, is that the best?", [4.0], [4.0]),
    # the asker's words come first, walking back from the factor: their own request
    ("My friend said I should upscale at 4x, but I want 2x.", [4.0, 2.0], []),
    ("My daughter's drawing needs 3x, and my friend uses 2x.", [3.0], []),
])
def test_someone_elses_factor(question, expected, dated):
    request = extract_request(question)
    assert (request.scales, request.dated) == (expected, dated)


def test_a_time_that_opens_the_sentence_dates_its_later_clauses():
    request = extract_request("Last week I shrank the photos to a third, then brought them back up 3x. "
                              "How do I measure which result is closer?")
    assert (request.scales, request.dated) == ([3.0], [3.0])
    # "now" moves the time: the factor after it is asked
    assert scales("Last week I tried a few tools, but now I want 3x.") == [3.0]
    assert scales("Last week I upscaled them 2x, and this time I need 4x.") == [4.0]


@pytest.mark.parametrize("question, expected", [
    # another language's "already" or "yesterday" dates the factor of its clause
    ("Je l'ai déjà agrandie au double avec Photoshop. Cette fois je voudrais l'agrandir trois fois et demie.", [3.5]),
    ("Ayer amplié la foto 2x, ahora quiero 4x.", [4.0]),
    # ... and a time word opening the sentence holds until its "now" (今回は)
    ("以前、別のツールで2倍にしたことがありますが、今回は960×540のイラストを3840×2160にしたいです。", [4.0]),
])
def test_another_languages_time_words_date_a_factor(question, expected):
    assert scales(question) == expected


def test_japanese_negation_in_its_adverbial_and_polite_forms():
    assert degradations("ノイズはなく、ぼけてもいません。") == []


@pytest.mark.parametrize("question, expected", [
    # a fraction between the number and its "times": two and a half
    ("Мне нужно увеличить его в два с половиной раза. Почему нельзя взять EDSR на 2x?", [2.5]),
    # a product name's scale just before the factor is the model's, when another is asked
    ("I need 3x, is SwinIR x4 close enough?", [3.0]),
    ("Upscale it with Real-ESRGAN 4x please.", [4.0]),  # alone, it is the request
    ("I need 3x. Can LIIF do 6x too?", [3.0, 6.0]),  # a verb between: asked
])
def test_a_fraction_inside_and_a_models_scale_before(question, expected):
    assert scales(question) == expected


def test_a_removal_done_before_leaves_no_degradation():
    assert degradations("I already removed the noise in Lightroom; the photo is not blurry.") == []
    assert degradations("I want the noise removed.") == ["noise"]  # asked, not done


def test_another_languages_colleague_has_someone_elses_factor():
    assert scales("Mam 2000 zdjęć i każde trzeba powiększyć trzykrotnie, kolega mówił, że on robił "
                  "nawet ośmiokrotne.") == [3.0]


def test_each_factor_of_a_list_before_a_model_noun_is_the_models():
    assert scales("I need every level from 1.2x up to 3x. Should I run the x2 and x4 EDSR models "
                  "and resize?") == [1.2, 3.0]


@pytest.mark.parametrize("question, expected", [
    # a question opening with a modal and a verb of becoming asks about the output
    ("It's grainy. Will it come out looking like a real photo of him, or smeared like an oil painting?",
     ["noise"]),
    ("Will the blurry photo look good on a poster?", ["blur"]),  # the input, before the verb
    # "product photos" are no creation verb's output
    ("The old CMS re-saved every product photo as JPEG again and again.", ["jpeg"]),
    ("Die Grafik ist weder verrauscht noch komprimiert.", []),
])
def test_degradations_of_the_output_and_of_the_input(question, expected):
    assert degradations(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("The noise is negligible, but the scan is blurry.", ["blur"]),
    ("The photo is grainy. Blur is basically nonexistent.", ["noise"]),
    # Dutch and German put the negated wish at the clause's end
    ("Wazige randen wil ik absoluut niet.", []),
    ("Rauschen möchte ich nicht.", []),
    ("Het beeld is wazig, dat wil ik niet.", ["blur"]),  # the input is blurry; that is not wanted
])
def test_absence_said_after_the_degradation_word(question, expected):
    assert degradations(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("The scanner at the library adds a fine speckle noise to every page.", ["noise"]),
    ("My cheap phone camera introduced a lot of grain.", ["noise"]),
    ("The upscaler adds noise to the image.", []),  # the tool's output
    ("Will the upscaling of my camera photo add grain?", []),  # a question about the output
    ("The logo has mosquito noise around every letter.", ["jpeg"]),  # a compression artifact
    ("The plate characters are streaked sideways.", ["blur"]),
])
def test_what_a_capture_device_adds_is_the_input(question, expected):
    assert degradations(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("The only copy is a 120 x 90 avatar. The venue wants it 2400 pixels wide.", [20.0]),
    ("It is 1000 px wide. The print shop needs it 10 inches wide at 300 dpi.", [3.0]),
    ("A 9 x 6 cm contact print, scanned at 300 dpi. I'd like a 54 x 36 cm print at the same 300 dpi.", [6.0]),
    # a measured ratio keeps its role when an optical factor of the same value is a contrast
    ("Shot with my phone's 2x telephoto lens; the crop is 1500x1000 and the magazine wants 3000x2000.", [2.0]),
])
def test_one_side_or_a_print_against_the_same(question, expected):
    assert scales(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("unscharf ist die Aufnahme eigentlich nicht, und Rauschen sehe ich auch keins.", []),
    ("Korrelig of wazig is hij niet.", []),
    ("Das Rauschen stört mich nicht.", ["noise"]),  # it does not bother, but it is there
    ("la scansione è pulita: niente rumore, niente compressione JPEG", []),
])
def test_negation_at_the_clause_end_and_foreign_nothing(question, expected):
    assert degradations(question) == expected


def test_foreign_negation_after_the_word():
    assert degradations("Zaszumione zdjęcie nie jest, światła było dużo.") == []
    assert degradations("Хочу увеличить кадры в полтора раза, шума там нет.") == []
    assert degradations("自作のイラスト（PNG、ノイズも圧縮もなし）を拡大したいです。") == []
    assert degradations("Das Bild ist unscharf und nicht verrauscht.") == ["blur"]


@pytest.mark.parametrize("question, expected", [
    ("크기는 그대로 두고 싶고, 두 배로 키울 필요는 없어요.", []),  # no need to enlarge it 2x
    ("Real-ESRGAN klarar ju bara 4x, jag vill ha tre gånger större.", [3.0]),  # the product's limit
    ("Jag vill bara ha 4x.", [4.0]),  # "I only want 4x"
    ("Ska jag välja Real-ESRGAN eller LIIF? Real-ESRGAN klarar ju bara 4x, jag vill ha tre gånger större.", [3.0]),
])
def test_foreign_contrasts(question, expected):
    assert scales(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("Ich bräuchte Ausschnitte zwei- bis vierfach vergrößert.", [2.0, 4.0]),
    ("Ich will es zwei- oder dreifach.", [2.0, 3.0]),
])
def test_a_range_that_shares_its_fold_word(question, expected):
    assert scales(question) == expected


def test_a_factor_wanted_in_so_many_words_survives_the_same_factor_contrasted():
    assert scales("I want two versions, 4x and 6x. As far as I know Real-ESRGAN only does 4x.") == [4.0, 6.0]


def test_twice_as_needs_a_size():
    assert scales("I want the clips twice as smooth, 48 fps, at the same resolution.") == []
    assert scales("Make it twice as large.") == [2.0]
    assert scales("It should have twice as many pixels.") == [2.0]


def test_a_past_factor_alone_is_dated():
    assert extract_request("Last week I upscaled 300 photos by 2x; now I need to rank them.").dated == [2.0]
    assert extract_request("Years ago I enlarged it 2x with an app; now I want 6x.").dated == []


def test_not_every_cue_word_is_a_contrast():
    assert scales("I only need it 3x bigger.") == [3.0]
    assert scales("My older photos need 4x.") == [4.0]  # old photos are not an old tool
    assert scales("My old camera's pictures need 4x.") == [4.0]  # nor is a camera
    assert scales("Not only 2x but also 3x, please.") == [2.0, 3.0]
    assert scales("Why can't I just upscale 4x with bicubic?") == [4.0]
    assert scales("I usually print at 4x.") == [4.0]  # a habit that is the request
    assert scales("Can other models do 5x?") == [5.0]  # asking about another tool
    assert scales("I want a standard 4x model.") == [4.0]
    assert scales("It's a double; upscale it 2.5x.") == [2.5]  # "a double" is a noun


# ------------------------------------------------------------------ degradations of the input

@pytest.mark.parametrize("question, expected", [
    ("My scan is grainy.", ["noise"]),
    ("The night sky frame is full of sensor noise.", ["noise"]),
    ("Hot pixels all over the exposure.", ["noise"]),
    ("The x-ray film is speckled.", ["noise"]),
    ("a low-light shot from a party", ["noise"]),
    ("It was shot at ISO 25600.", ["noise"]),
    ("The GIF was heavily compressed.", ["jpeg"]),
    ("The sky shows pixel blocks.", ["jpeg"]),
    ("A lossy WebP avatar.", ["jpeg"]),
    ("A JPG with ugly blocky edges.", ["jpeg"]),
    ("My hands shook, so it is blurry.", ["blur"]),
    ("The face is out of focus.", ["blur"]),
    ("Camera shake spoiled the bird.", ["blur"]),
    ("A blurred, noisy and compressed meme.", ["noise", "jpeg", "blur"]),
])
def test_input_degradations(question, expected):
    assert degradations(question) == expected


@pytest.mark.parametrize("question, why", [
    ("The scan is clean, with no noise at all.", "negated"),
    ("There is no compression; it is a PNG.", "negated"),
    ("It is sharp, not blurry.", "negated"),
    ("Shot in RAW without any JPEG step.", "negated"),
    ("I want a noise-free print.", "negated"),
    ("It came back crisp rather than blurry.", "negated"),
    ("The result was blocky.", "describes the output"),
    ("The upscale will look blurry, I fear.", "describes a feared"),
    ("After upscaling, the sky had grain.", "describes the output"),
    ("The edges came out blurry after the 8x upscale.", "describes the output"),
    ("Will the model add blur to the edges?", "describes the output"),
    ("I fear it turns into a blur.", "describes the output"),
    ("How does diffusion turn random noise into a picture?", "generative"),
    ("I worry the enlargement will look blurry.", "feared"),
    ("Will the print be grainy?", "feared"),
    ("How do I keep the edges from getting blocky?", "feared"),
    ("I want to avoid any blur.", "feared"),
    ("My camera saves a full-quality JPG; I zoom in 3x.", "stated high quality"),
    ("These are JPEGs, but there are no artifacts I can see.", "artifacts the question denies"),
])
def test_words_that_do_not_describe_the_input(question, why):
    request = extract_request(question)
    assert request.degradations == []
    assert any(why in i.why for i in request.ignored), request.ignored


def test_a_jpeg_file_with_artifacts_is_still_a_degradation():
    assert degradations("A low-quality JPG from a chat app, blown up 4x.") == ["jpeg"]
    assert degradations("The JPEG artifacts in my old photo get worse when I enlarge it.") == ["jpeg"]


def test_a_clean_night_photo_has_no_implied_noise():
    assert degradations("A night photo with no grain at all; make it 3x bigger.") == []
    assert degradations("A photo of the harbour at night; it's clean. Enlarge it 4x.") == []
    assert degradations("A photo of the harbour taken at night needs 4x.") == ["noise"]
    assert degradations("My photo from a concert at night is tiny.") == []  # says nothing of the exposure


def test_words_that_only_look_like_degradations():
    assert degradations("The news shook me; the building blocks are clean.") == []
    assert degradations("As a result of camera shake, it is soft.") == ["blur"]


def test_a_restoration_topic_is_not_the_input_when_the_input_is_said_clean():
    request = extract_request("Can the model remove JPEG artifacts? My files are clean anyway.")
    assert request.degradations == [] and "input is said to be clean" in request.ignored[0].why
    assert degradations("Can the model remove JPEG artifacts from my photos?") == ["jpeg"]


def test_without_a_change_presupposes_the_degradation():
    assert degradations("Can I get 2x without the grain turning into blobs?") == ["noise"]
    assert degradations("Enlarge it without the blur getting worse.") == ["blur"]
    assert degradations("Enlarge it without blur.") == []


def test_degradation_in_one_clause_negation_in_another():
    assert degradations("There is no compression, but the photo is blurry.") == ["blur"]
    assert degradations("It has no dust, and the grain is heavy.") == ["noise"]


# ------------------------------------------------------------------ evidence and the public shape

def test_every_reading_quotes_the_words_it_came_from():
    question = "Old apps only did 2x; I want this 1998 scan, which is noisy, five times bigger."
    request = extract_request(question)
    assert request.scales == [5.0] and request.degradations == ["noise"]
    for item in request.evidence + request.ignored:
        assert question[item.start:item.end] == item.text
    assert [(e.kind, e.value, e.text) for e in request.evidence] == [
        ("scale", 5.0, "five times bigger"), ("degradation", "noise", "noisy")]
    why = {i.text: i.why for i in request.ignored}
    assert why["1998"] == "year" and why["2x"].startswith("contrast")


def test_request_record_is_strict():
    with pytest.raises(ValueError):
        Request(scales=[2.0], degradations=["noise"], unknown=1)
    with pytest.raises(ValueError):
        Request(scales=[2.0], degradations=["haze"])
    assert Request(scales=[], degradations=[]).evidence == []


def test_tokens_keep_spans_and_number_words():
    question = "Enlarge it one and a half times, then 48x48 -> x3."
    toks = tokenize(question)
    for t in toks:
        assert question[t.start:t.end] == t.text
    kinds = [(t.kind, t.value) for t in toks if t.kind != "word" and t.kind != "mark"]
    assert kinds == [("num", 1.5), ("size", 48.0), ("xnum", 3.0)]


def test_a_mixed_question_reads_each_number_in_its_role():
    request = extract_request("Not 2x but 7x; the scan is grainy and 640x480.")
    assert request.scales == [7.0] and request.degradations == ["noise"]
    assert [(i.text, i.why.split(" ")[0]) for i in request.ignored] == [("2x", "negated"),
                                                                        ("640x480", "image")]


@pytest.mark.parametrize("question, degradations", [
    ("Why is 4x upscaling blurry?", []),                 # the blur is in the output
    ("The 4x enlargement looks blurry, why?", []),
    ("Is upscaling blurry photos by 2x useful?", ["blur"]),  # here the photos are blurry
])
def test_blur_of_the_enlarging_is_the_output(question, degradations):
    assert extract_request(question).degradations == degradations


@pytest.mark.parametrize("question, kept", [
    ("I'm happy with the size, I just want her face in focus.", True),
    ("I'm fine with the resolution; only the noise bothers me.", True),
    ("I'm not happy with the size, it is too small.", False),
    ("Are you happy with the size of the output?", False),
])
def test_content_with_the_size_means_no_enlargement(question, kept):
    assert extract_request(question).keeps_size is kept


def test_a_statement_after_a_question_is_read_by_meaning_on_its_own():
    # It was once read together with the "?" before it, and its quote ran into its full stop.
    question = "Can you make it 4x bigger? The camera moved while the shutter was open."
    request = extract_request(question)
    assert request.degradations == ["blur"]
    meant = [e for e in request.evidence if "means" in e.rule]
    assert [e.text for e in meant] == ["The camera moved while the shutter was open"]


def test_a_question_is_not_read_by_meaning():
    # A question, even one said as a statement, asks about the input; it does not describe it.
    assert degradations("So the camera moved while the shutter was open?") == []


def test_a_lossless_file_said_clean_is_not_compressed():
    assert degradations("Bitte siebenfach. The source PNG is tiny but perfectly clean.") == []


@pytest.mark.parametrize("question, expected", [
    ("I was given a SwinIR x4 checkpoint, but the print shop wants three times the size.", [3.0]),
    ("I have an x4 model but I need 3x.", [3.0]),
    ("I want a standard 4x model.", [4.0]),  # the model's scale alone is the request
])
def test_a_models_own_scale_is_a_contrast_only_when_another_is_asked(question, expected):
    assert scales(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("Keep her sharp and blur the background behind her.", []),  # the user's edit
    ("I want to blur my face out.", []),
    ("Can I remove the blur the camera shake caused?", ["blur"]),  # "the blur": a noun
    ("It has blur a lot.", ["blur"]),
])
def test_blur_as_the_users_edit_is_not_the_inputs(question, expected):
    assert degradations(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("The lab wants a 12 x 8 inch print at 300 dpi; my scan is 1200 x 800 pixels.", [3.0]),
    ("I want a 30 x 20 cm print at 300 dpi; my photo is 1772 x 1181 px.", [2.0]),  # cm, to 2 decimals
    ("A 4x6 inch print at 300 dpi.", []),  # no image size to compare with
    ("My scan is 1200 x 800 pixels and I print at 300 dpi.", []),
])
def test_a_print_size_at_a_density_gives_the_factor_from_the_image_size(question, expected):
    request = extract_request(question)
    assert request.scales == expected
    if expected:  # both sizes are explained by the reading, not listed as ignored
        assert not any(i.why in ("image size", "print or physical size") for i in request.ignored)
