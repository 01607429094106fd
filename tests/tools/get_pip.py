"""Stand-in for the pip bootstrap script ansible-test downloads from its own CI file host.

That host is out of reach here; ansible-test only needs pip inside the fresh virtualenvs it makes for
sanity tests, so this installs Python's bundled pip (ensurepip) and then runs `pip install` with the
arguments ansible-test passes (e.g. pip==24.2 from the package index). `make sanity` copies it to
~/.ansible/test/cache/get_pip_<version>.py, where ansible-test looks before downloading."""
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    main()
