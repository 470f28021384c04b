"""Debian's Chromium, driven by playwright (which never downloads a browser here)."""
import contextlib

CHROMIUM = "/usr/bin/chromium"
# Chromium 156's omnibox popups are WebUI pages with renderers of their own, made even
# when headless; after some minutes they can spin at full CPU for the browser's life
# (two did, 90% of a core each, for as long as their test ran). Nothing here needs them.
NO_OMNIBOX_POPUP = "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", NO_OMNIBOX_POPUP]
AUTOPLAY = "--autoplay-policy=no-user-gesture-required"  # plays without a click, as a person's click would


@contextlib.contextmanager
def launched(*extra_args):
    """A headless Chromium with ``CHROMIUM_ARGS`` and ``extra_args``, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()
