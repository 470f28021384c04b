"""Configuration precedence and the one-line errors of bad settings."""
import socket
import subprocess

import pytest

from haema.config import ConfigError, bind_socket, is_loopback, parse_config, parse_size

from harness.server import haema_command


def test_cli_beats_env_beats_file(tmp_path):
    conf = tmp_path / "haema.conf"
    conf.write_text(f"target_path = {tmp_path}\nport = 1111\nworkers = 3\ncache-limit = 1G\n")
    config = parse_config(["-c", str(conf), "-p", "3333"], env={"HAEMA_PORT": "2222", "HAEMA_WORKERS": "5"})
    assert (config.port, config.workers, config.cache_limit) == (3333, 5, 1 << 30)
    assert parse_config(["-c", str(conf)], env={"HAEMA_PORT": "2222"}).port == 2222
    assert parse_config(["-c", str(conf)], env={}).port == 1111


def test_seed_flags_and_spellings(tmp_path):
    config = parse_config(["-t", str(tmp_path), "-h", "0.0.0.0", "--cache", "false"], env={})
    assert (config.host, config.cache) == ("0.0.0.0", False)
    assert parse_config(["--target-path", str(tmp_path)], env={}).target_path == str(tmp_path)


def test_transcoded_segments_are_never_longer_than_copied_ones(tmp_path):
    assert parse_config(["-t", str(tmp_path)], env={}).transcode_segment_duration == 2.0
    config = parse_config(["-t", str(tmp_path), "--segment-duration", "1.5"], env={})
    assert (config.segment_duration, config.transcode_segment_duration) == (1.5, 1.5)


@pytest.mark.parametrize("text, size", [("500M", 500 << 20), ("20G", 20 << 30), ("1.5K", 1536), ("42", 42),
                                        ("2GiB", 2 << 30)])
def test_human_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("argv, words", [
    (["-t", "/does/not/exist"], "not a folder"),
    (["-t", "."], None),
    (["-t", ".", "--cache-limit", "12XB"], "not a size"),
    (["-t", ".", "-p", "http"], "not a number"),
    (["-t", ".", "--cache", "maybe"], "true or false"),
    ([], "no library folder"),
])
def test_bad_settings_say_what_to_fix(argv, words):
    if words is None:
        parse_config(argv, env={})
        return
    with pytest.raises(ConfigError, match=words):
        parse_config(argv, env={})


def test_port_in_use_is_a_config_error(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    config = parse_config(["-t", str(tmp_path), "-p", str(busy.getsockname()[1])], env={})
    with pytest.raises(ConfigError, match="choose another --port"):
        bind_socket(config)
    busy.close()


def test_bad_config_exits_2_with_one_line(tmp_path):
    result = subprocess.run([*haema_command(), "-t", str(tmp_path / "nope")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not a folder" in result.stderr


def test_unwritable_db_exits_2(tmp_path):
    result = subprocess.run([*haema_command(), "-t", str(tmp_path), "--db", "/proc/haema.db"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--db" in result.stderr


def test_auth_is_on_unless_turned_off(tmp_path):
    assert parse_config(["-t", str(tmp_path)], env={}).auth is True
    assert parse_config(["-t", str(tmp_path), "--auth", "false"], env={}).auth is False
    conf = tmp_path / "haema.conf"
    conf.write_text(f"target_path = {tmp_path}\nauth = false\n")
    assert parse_config(["-c", str(conf)], env={}).auth is False
    with pytest.raises(ConfigError, match="--auth"):
        parse_config(["-t", str(tmp_path), "--auth", "maybe"], env={})


def test_adding_a_user_needs_no_library_folder(tmp_path):
    conf = tmp_path / "haema.conf"
    conf.write_text("target_path = ./no/such/folder\n")
    config = parse_config(["-c", str(conf), "--add-user", "ada", "--admin"], env={})
    assert (config.add_user, config.admin) == ("ada", True)


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                            ("0.0.0.0", False), ("192.168.1.5", False), ("::", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_auth_off_beyond_loopback_is_warned_about(tmp_path):
    """The warning comes before serving; the server is stopped as soon as it says it serves."""
    command = [*haema_command(), "-t", str(tmp_path), "-h", "0.0.0.0", "-p", str(_free_port()),
               "--auth", "false", "--db", str(tmp_path / "h.db"), "--cache-path", str(tmp_path / "c"),
               "--scan-on-start", "false", "--workers", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "serving" in line:
                break
        warning = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(10)
    assert "--auth false on 0.0.0.0" in warning, lines + [warning]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_shows_defaults_and_no_dead_link():
    result = subprocess.run([*haema_command(), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--port PORT" in result.stdout and "(default: 8080)" in result.stdout
    assert "(default: None)" not in result.stdout and "goo.gl" not in result.stdout


def test_a_failed_start_leaves_no_files_behind(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    work = tmp_path / "work"
    work.mkdir()
    try:
        result = subprocess.run([*haema_command(), "-t", str(tmp_path), "-p", str(busy.getsockname()[1]),
                                 "--db", str(work / "haema.db"), "--cache-path", str(work / "cache" / "haema")],
                                capture_output=True, text=True, timeout=60)
    finally:
        busy.close()
    assert result.returncode == 2 and "choose another --port" in result.stderr
    assert list(work.iterdir()) == []


def test_unreachable_postgresql_exits_2_without_the_password(tmp_path):
    ports = []
    for _ in range(2):  # one for haema, one nobody listens on
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    result = subprocess.run([*haema_command(), "-t", str(tmp_path), "-p", str(ports[0]), "--db",
                             f"postgresql://haema:s3cret@127.0.0.1:{ports[1]}/haema"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "haema: error: cannot open the database postgresql://haema:***@" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
