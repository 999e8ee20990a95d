"""The package version, in one place (``nnprune.__version__`` re-exports it).

Modules that record the version (saved models, result files, ``nnprune --version``)
import it from here, not from the package ``__init__``, so no module imports the
package that imports it.
"""

__version__ = "0.1.0"
