"""``naming.place`` on the folder layouts users bring from Jellyfin, Plex and Kodi."""

import pytest

from haema import naming
from haema.naming import Placement, index_label, place

BB = "Series/Breaking Bad (2008)"

# path -> (kind, show_title, year, season, episode, episode_title, show_key)
MOVIES = [
    ("Movies/Heat (1995)/Heat (1995).mkv",
     ("movie", "Heat", 1995, None, None, None, "Movies/Heat (1995)/Heat (1995).mkv")),
    ("Heat (1995).mp4", ("movie", "Heat", 1995, None, None, None, "Heat (1995).mp4")),
    ("Movies/Action/Crime/Heat (1995).mp4",
     ("movie", "Heat", 1995, None, None, None, "Movies/Action/Crime/Heat (1995).mp4")),
    ("Movies/Heat.1995.1080p.BluRay.x264-GRP/heat.1995.1080p.mkv",
     ("movie", "Heat", 1995, None, None, None,
      "Movies/Heat.1995.1080p.BluRay.x264-GRP/heat.1995.1080p.mkv")),
    ("Heat.1995.1080p.BluRay.x264-GRP.mkv",
     ("movie", "Heat", 1995, None, None, None, "Heat.1995.1080p.BluRay.x264-GRP.mkv")),
    # The folder names the movie even when the file is named badly.
    ("Movies/Heat (1995)/heat-grp-1080p.mkv",
     ("movie", "Heat", 1995, None, None, None, "Movies/Heat (1995)/heat-grp-1080p.mkv")),
    ("Movies/Heat (1995)/Heat (1995) - 1080p.mkv",
     ("movie", "Heat", 1995, None, None, None, "Movies/Heat (1995)/Heat (1995) - 1080p.mkv")),
    ("Movies/Heat (1995) [imdbid-tt0113277]/Heat (1995) [imdbid-tt0113277].mkv",
     ("movie", "Heat", 1995, None, None, None,
      "Movies/Heat (1995) [imdbid-tt0113277]/Heat (1995) [imdbid-tt0113277].mkv")),
    # A collection folder does not rename the films inside it.
    ("Movies/Die Hard (1988)/Die Hard 2 (1990).mkv",
     ("movie", "Die Hard 2", 1990, None, None, None, "Movies/Die Hard (1988)/Die Hard 2 (1990).mkv")),
    ("Movies/Best of 1999/Fight Club (1999).mkv",
     ("movie", "Fight Club", 1999, None, None, None, "Movies/Best of 1999/Fight Club (1999).mkv")),
    # Numbers in titles are not episode numbers.
    ("1917 (2019).mkv", ("movie", "1917", 2019, None, None, None, "1917 (2019).mkv")),
    ("Movies/1917 (2019)/1917 (2019).mkv",
     ("movie", "1917", 2019, None, None, None, "Movies/1917 (2019)/1917 (2019).mkv")),
    ("2001 A Space Odyssey (1968).mkv",
     ("movie", "2001 A Space Odyssey", 1968, None, None, None, "2001 A Space Odyssey (1968).mkv")),
    ("Movies/Blade Runner 2049 (2017)/Blade Runner 2049 (2017).mkv",
     ("movie", "Blade Runner 2049", 2017, None, None, None,
      "Movies/Blade Runner 2049 (2017)/Blade Runner 2049 (2017).mkv")),
    ("Movies/Blade.Runner.2049.2017.2160p.UHD.BluRay.x265-GRP/blade.runner.2049.2017.2160p.mkv",
     ("movie", "Blade Runner 2049", 2017, None, None, None,
      "Movies/Blade.Runner.2049.2017.2160p.UHD.BluRay.x265-GRP/blade.runner.2049.2017.2160p.mkv")),
    ("Apollo 13 (1995).mkv", ("movie", "Apollo 13", 1995, None, None, None, "Apollo 13 (1995).mkv")),
    ("Ocean's 11 (2001).mkv", ("movie", "Ocean's 11", 2001, None, None, None, "Ocean's 11 (2001).mkv")),
    ("9 (2009).mkv", ("movie", "9", 2009, None, None, None, "9 (2009).mkv")),
    # Loose, without a year: a movie under Movies/ or at the root, not "Apollo" episode 13.
    ("Movies/Apollo 13.mkv", ("movie", "Apollo 13", None, None, None, None, "Movies/Apollo 13.mkv")),
    ("Movies/Show - 01.mkv", ("movie", "Show - 01", None, None, None, None, "Movies/Show - 01.mkv")),
    ("Apollo 13.mkv", ("movie", "Apollo 13", None, None, None, None, "Apollo 13.mkv")),
    ("Star Wars - 1977.mkv", ("movie", "Star Wars", 1977, None, None, None, "Star Wars - 1977.mkv")),
    ("Heat (1995) - Director's Cut.mkv",
     ("movie", "Heat", 1995, None, None, None, "Heat (1995) - Director's Cut.mkv")),
    ("Movies/Film 5/Film.5.1999.German.DL.1080p.mkv",
     ("movie", "Film 5", 1999, None, None, None, "Movies/Film 5/Film.5.1999.German.DL.1080p.mkv")),
    ("My_Movie_(2004).mkv", ("movie", "My Movie", 2004, None, None, None, "My_Movie_(2004).mkv")),
    # Implausible years are not years.
    ("Movies/Space (1850).mkv", ("movie", "Space", None, None, None, None, "Movies/Space (1850).mkv")),
    # Unicode and shell-hostile names.
    ("Movies/Amélie (2001)/Amélie (2001).mkv",
     ("movie", "Amélie", 2001, None, None, None, "Movies/Amélie (2001)/Amélie (2001).mkv")),
    ("Movies/千と千尋の神隠し (2001)/千と千尋の神隠し (2001).mkv",
     ("movie", "千と千尋の神隠し", 2001, None, None, None,
      "Movies/千と千尋の神隠し (2001)/千と千尋の神隠し (2001).mkv")),
    ("Movies/Tom & Jerry's $Money; #1 \"Cut\" (1999)/film.mkv",
     ("movie", "Tom & Jerry's $Money; #1 \"Cut\"", 1999, None, None, None,
      "Movies/Tom & Jerry's $Money; #1 \"Cut\" (1999)/film.mkv")),
    ("Mr. Robot's $100 & Co; #2 (2015).mkv",
     ("movie", "Mr. Robot's $100 & Co; #2", 2015, None, None, None,
      "Mr. Robot's $100 & Co; #2 (2015).mkv")),
]

SERIES = [
    (f"{BB}/Season 01/Breaking Bad - S01E02 - Cat's in the Bag.mkv",
     ("episode", "Breaking Bad", 2008, 1, 2, "Cat's in the Bag", BB)),
    (f"{BB}/Season 1/Breaking Bad - S01E02.mkv",
     ("episode", "Breaking Bad", 2008, 1, 2, None, BB)),
    (f"{BB}/S02/Breaking.Bad.S02E05.720p.HDTV.x264-GRP.mkv",
     ("episode", "Breaking Bad", 2008, 2, 5, None, BB)),
    (f"{BB}/Season 01/Breaking.Bad.S01E02.Cats.in.the.Bag.720p.HDTV.x264-GRP.mkv",
     ("episode", "Breaking Bad", 2008, 1, 2, "Cats in the Bag", BB)),
    ("Shows/Doctor Who/Series 2/Doctor Who - S02E03 - School Reunion.mkv",
     ("episode", "Doctor Who", None, 2, 3, "School Reunion", "Shows/Doctor Who")),
    ("TV/The Office (US) (2005)/Season 02/The Office - S02E01 - The Dundies.mkv",
     ("episode", "The Office (US)", 2005, 2, 1, "The Dundies", "TV/The Office (US) (2005)")),
    # A series folder without a category folder above it.
    ("Breaking Bad (2008)/Season 01/Breaking Bad - S01E02.mkv",
     ("episode", "Breaking Bad", 2008, 1, 2, None, "Breaking Bad (2008)")),
    # The series title comes from the folder, not the file.
    (f"{BB}/Season 01/bb.s01e03.mkv", ("episode", "Breaking Bad", 2008, 1, 3, None, BB)),
    (f"{BB}/Breaking Bad 1x03.mkv", ("episode", "Breaking Bad", 2008, 1, 3, None, BB)),
    (f"{BB}/Breaking Bad - 1x03 - And the Bag's in the River.mkv",
     ("episode", "Breaking Bad", 2008, 1, 3, "And the Bag's in the River", BB)),
    # The file's own marker is more specific than a misfiled season folder.
    (f"{BB}/Season 01/Breaking Bad - S02E01.mkv", ("episode", "Breaking Bad", 2008, 2, 1, None, BB)),
    # Specials.
    ("Series/Show/Specials/Show - S00E01 - Pilot.mkv",
     ("episode", "Show", None, 0, 1, "Pilot", "Series/Show")),
    ("Series/Show/Season 00/Show - S00E02.mkv", ("episode", "Show", None, 0, 2, None, "Series/Show")),
    ("Series/Show/Specials/Show - 03.mkv", ("episode", "Show", None, 0, 3, None, "Series/Show")),
    # Multi-episode files take the first number.
    ("Series/Show/Season 01/Show - S01E01-E02 - Double.mkv",
     ("episode", "Show", None, 1, 1, "Double", "Series/Show")),
    ("Series/Show/Season 01/Show.S01E03E04.mkv", ("episode", "Show", None, 1, 3, None, "Series/Show")),
    ("Series/Show/Season 01/Show - S01E05-06.mkv", ("episode", "Show", None, 1, 5, None, "Series/Show")),
    # Flat folders of absolute-numbered files.
    ("Anime/Frieren/[SubsPlease] Frieren - 01 [1080p].mkv",
     ("episode", "Frieren", None, 1, 1, None, "Anime/Frieren")),
    ("Show/[Group] Show - 01 [1080p].mkv", ("episode", "Show", None, 1, 1, None, "Show")),
    ("Show/[Group] Show - 12v2 [ABCD1234].mkv", ("episode", "Show", None, 1, 12, None, "Show")),
    ("Show/Show - 001.mkv", ("episode", "Show", None, 1, 1, None, "Show")),
    ("Show/Show - 101.mkv", ("episode", "Show", None, 1, 101, None, "Show")),
    ("Series/One Piece/One Piece - 1071 [1080p].mkv",
     ("episode", "One Piece", None, 1, 1071, None, "Series/One Piece")),
    ("Show/Show - 05 - The Name.mkv", ("episode", "Show", None, 1, 5, "The Name", "Show")),
    ("Show/05 - The Name.mkv", ("episode", "Show", None, 1, 5, "The Name", "Show")),
    ("Show/07.mkv", ("episode", "Show", None, 1, 7, None, "Show")),
    ("Show/Show - E05.mkv", ("episode", "Show", None, 1, 5, None, "Show")),
    ("Series/Show/Season 2/Show - 05.mkv", ("episode", "Show", None, 2, 5, None, "Series/Show")),
    ("Series/Show (2019)/Show (2019) - 03.mkv", ("episode", "Show", 2019, 1, 3, None, "Series/Show (2019)")),
    ("Anime/[Group] Show - 03 (1080p) [ABCD1234].mkv",
     ("episode", "Show", None, 1, 3, None, "Anime/show")),
    ("Anime/進撃の巨人/[Group] 進撃の巨人 - 01 [1080p].mkv",
     ("episode", "進撃の巨人", None, 1, 1, None, "Anime/進撃の巨人")),
    ("Anime/[Group] Anime Ep05 [1080p].mkv", ("episode", "Anime", None, 1, 5, None, "Anime/anime")),
    ("Series/Show/Show Episode 5.mkv", ("episode", "Show", None, 1, 5, None, "Series/Show")),
    ("Series/Show/Show (2019) - 01 - Pilot.mkv", ("episode", "Show", None, 1, 1, "Pilot", "Series/Show")),
    # Anime put the season in the title.
    ("[SubsPlease] Show S2 - 05 (1080p) [ABCD1234].mkv", ("episode", "Show", None, 2, 5, None, "show")),
    ("Anime/Show/[SubsPlease] Show S2 - 05 (1080p).mkv", ("episode", "Show", None, 2, 5, None, "Anime/Show")),
    # Scene tails are not episode titles; words before them are.
    ("Series/Show/Show.S01E02.Pilot.720p.HDTV.x264-GRP.mkv",
     ("episode", "Show", None, 1, 2, "Pilot", "Series/Show")),
    # Acronym titles keep their dots.
    ("Series/S.W.A.T. (2017)/Season 1/S.W.A.T. - S01E01.mkv",
     ("episode", "S.W.A.T.", 2017, 1, 1, None, "Series/S.W.A.T. (2017)")),
    ("Series/Breaking.Bad/Season.01/breaking.bad.s01e01.mkv",
     ("episode", "Breaking Bad", None, 1, 1, None, "Series/Breaking.Bad")),
    ("Series/Show/Season 1 (2010)/Show - S01E01.mkv", ("episode", "Show", None, 1, 1, None, "Series/Show")),
    # A file in a Season folder without a number is still that season's.
    ("Series/Show/Season 02/Bonus.mkv", ("episode", "Show", None, 2, None, None, "Series/Show")),
    # Files at the library root or right in a category folder: the title is the file's.
    ("Show.S02E05.720p.HDTV.x264.mkv", ("episode", "Show", None, 2, 5, None, "show")),
    ("Show 1x03.mkv", ("episode", "Show", None, 1, 3, None, "show")),
    ("The.Great.Show.S01E01.mkv", ("episode", "The Great Show", None, 1, 1, None, "the great show")),
    ("Doctor Who (2005) - S01E01 - Rose.mkv",
     ("episode", "Doctor Who", 2005, 1, 1, "Rose", "doctor who")),
    ("[Group] Show - 01 [1080p].mkv", ("episode", "Show", None, 1, 1, None, "show")),
    ("Series/Show.S01E01.mkv", ("episode", "Show", None, 1, 1, None, "Series/show")),
    # A download kept in its release folder: the folder is a season, not a show.
    ("Series/Show.S01.1080p.BluRay.x264-GRP/Show.S01E03.1080p.BluRay.x264-GRP.mkv",
     ("episode", "Show", None, 1, 3, None, "Series/show")),
    ("Series/Show/Show.S01.1080p.BluRay.x264-GRP/Show.S01E03.1080p.BluRay.x264-GRP.mkv",
     ("episode", "Show", None, 1, 3, None, "Series/Show")),
    ("Series/Show/Show.S01E04.720p.HDTV-GRP/show.s01e04.720p.mkv",
     ("episode", "Show", None, 1, 4, None, "Series/Show")),
    # Scene-named show folders are cleaned.
    ("Series/The_Wire/Season_1/The_Wire_S01E01_The_Target.mkv",
     ("episode", "The Wire", None, 1, 1, "The Target", "Series/The_Wire")),
    # Unicode and shell-hostile names.
    ("Séries/Amélie's \"Café\" $1; #2 & Co (2001)/Season 01/x - S01E01 - L'été.mkv",
     ("episode", "Amélie's \"Café\" $1; #2 & Co", 2001, 1, 1, "L'été",
      "Séries/Amélie's \"Café\" $1; #2 & Co (2001)")),
    ("Series/Mr. Robot/Season 1/Mr. Robot - S01E01 - eps1.0_hellofriend.mov.mkv",
     ("episode", "Mr. Robot", None, 1, 1, "eps1.0 hellofriend.mov", "Series/Mr. Robot")),
    # Resolutions are not NxM episode markers.
    ("Movies/Heat.1995.1920x1080.mkv",
     ("movie", "Heat", 1995, None, None, None, "Movies/Heat.1995.1920x1080.mkv")),
]

EXTRAS = [
    ("Movies/Heat (1995)/Extras/Making of.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Featurettes/Cast.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Behind The Scenes/Day 1.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Deleted Scenes/Bank 2.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Trailers/Teaser (1995).mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Heat (1995)-trailer.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Heat (1995)-featurette.mp4", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/Heat (1995)-extra.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/sample.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/heat.1995.1080p-sample.mkv", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Movies/Heat (1995)/TRAILER.MKV", ("Heat", 1995, "Movies/Heat (1995)")),
    ("Series/Show/Season 01/Show - S01E01-sample.mkv", ("Show", None, "Series/Show")),
    ("Series/Show/Extras/Show - S01E01 - Blooper.mkv", ("Show", None, "Series/Show")),
]


def as_row(placement):
    return (placement.kind, placement.show_title, placement.year, placement.season,
            placement.episode, placement.episode_title, placement.show_key)


@pytest.mark.parametrize("relpath, expected", MOVIES)
def test_movies(relpath, expected):
    assert as_row(place(relpath)) == expected


@pytest.mark.parametrize("relpath, expected", SERIES)
def test_series(relpath, expected):
    assert as_row(place(relpath)) == expected


@pytest.mark.parametrize("relpath, expected", EXTRAS)
def test_extras(relpath, expected):
    placement = place(relpath)
    assert (placement.kind, placement.show_title, placement.year, placement.show_key) == (
        "extra", *expected)


@pytest.mark.parametrize("relpath", [
    # Titles that merely contain an extras word stay what they are.
    "Movies/The Trailer Park (2001).mkv",
    "Series/Show/Season 01/Show - S01E01 - The Sample.mkv",
    # A library-level "Trailers" folder is a collection, not one film's extras.
    "Trailers/Heat (1995).mkv",
])
def test_extras_words_in_titles_are_not_extras(relpath):
    assert place(relpath).kind != "extra"


def test_guessit_reads_each_file_at_most_once(monkeypatch):
    calls = []
    real_guessit = naming.guessit
    monkeypatch.setattr(naming, "guessit", lambda name: calls.append(name) or real_guessit(name))
    place("Movies/Film 5/Film.5.1999.German.DL.1080p.mkv")
    place("Series/Show/Show.S01E02.Pilot.720p.HDTV.x264-GRP.mkv")
    assert len(calls) == 2
    calls.clear()
    place(f"{BB}/Season 01/Breaking Bad - S01E02 - Cat's in the Bag.mkv")
    place("Movies/Heat.1995.1080p.BluRay.x264-GRP/heat.1995.1080p.mkv")
    assert calls == []


def test_placement_is_frozen():
    placement = place("Heat (1995).mkv")
    with pytest.raises(AttributeError):
        placement.year = 1996


def test_show_key_is_shared_by_every_episode_of_a_show():
    keys = {place(path).show_key for path in [
        f"{BB}/Season 01/Breaking Bad - S01E01.mkv",
        f"{BB}/Season 02/Breaking.Bad.S02E05.720p.HDTV.x264.mkv",
        f"{BB}/Specials/Breaking Bad - S00E01 - Minisode.mkv",
        f"{BB}/Breaking Bad 3x01.mkv",
    ]}
    assert keys == {BB}


def test_loose_episodes_of_one_show_share_a_key_whatever_their_case():
    assert place("Show.S01E01.mkv").show_key == place("show.s01e02.720p.mkv").show_key


def test_leading_dot_segments_and_double_slashes_do_not_change_the_key():
    assert place("./Series//Show/Season 1/Show - S01E01.mkv").show_key == "Series/Show"


@pytest.mark.parametrize("season, episode, label", [
    (1, 2, "S01E02"),
    (0, 1, "S00E01"),
    (None, 7, "S01E07"),
    (12, 103, "S12E103"),
    (2, None, "S02"),
])
def test_index_label(season, episode, label):
    assert index_label(season, episode) == label


def test_placement_fields():
    assert place(f"{BB}/Season 01/Breaking Bad - S01E02 - Cat's in the Bag.mkv") == Placement(
        kind="episode", show_title="Breaking Bad", year=2008, show_key=BB, season=1, episode=2,
        episode_title="Cat's in the Bag")


@pytest.fixture
def guessit_calls(monkeypatch):
    """The names guessit was asked about, counted rather than timed: a guessit call costs
    ~7 ms, and the strict patterns cost next to nothing, so the count is the cost."""
    calls = []
    real_guessit = naming.guessit
    monkeypatch.setattr(naming, "guessit", lambda name: calls.append(name) or real_guessit(name))
    return calls


def test_tidy_files_classify_without_guessit(guessit_calls):
    """Guards the fast path: Jellyfin-style names must not wait on guessit."""
    paths = [f"Series/Show {n} (2001)/Season 0{n % 9}/Show {n} - S0{n % 9}E{n:02d} - Name.mkv"
             for n in range(50)]
    paths += [f"Movies/Film {n} (1999)/Film {n} (1999).mkv" for n in range(50)]
    for path in paths:
        place(path)
    assert guessit_calls == []


def test_scene_and_anime_releases_classify_without_guessit(guessit_calls):
    paths = [f"Series/Show{n}/Show{n}.S01E{n % 99:02d}.720p.HDTV.x264-GRP.mkv" for n in range(40)]
    paths += [f"Anime/Show {n}/[SubsPlease] Show {n} - {n % 24:02d} (1080p) [ABCD1234].mkv"
              for n in range(30)]
    paths += [f"Movies/Film.{n}.1999.1080p.BluRay.x264-GRP/film.{n}.1999.1080p.mkv"
              for n in range(30)]
    for path in paths:
        place(path)
    assert guessit_calls == []


def test_names_only_guessit_reads_cost_one_call_each(guessit_calls):
    """The worst case: one guessit call per file, never more."""
    paths = [f"Series/Show {n}/Show.{n}.S01E02.Pilot.720p.HDTV.x264-GRP.mkv" for n in range(10)]
    paths += [f"Movies/Film {n}/Film.{n}.1999.German.DL.1080p.mkv" for n in range(10)]
    for path in paths:
        place(path)
    assert sorted(guessit_calls) == sorted(path.rsplit("/", 1)[1] for path in paths)
