"""§7's 12 claims: the book's own arithmetic and the miniature measurements beside them."""

from __future__ import annotations

from nnprune.experiments.book_claims import section7_check_rows, section7_claims


def _row(method, acc, nonzeros, flops_nz, kb_dense, kb_csr):
    return {"model": "m", "method": method, "acc_mean": acc, "nonzeros": nonzeros,
            "flops_nz": flops_nz, "kB_dense": kb_dense, "kB_csr": kb_csr}  # fmt: skip


def test_the_books_percentages_against_its_own_numbers():
    rows = {r["§"]: r for r in section7_check_rows()}
    assert rows["7.1"]["cut"] == "85.5%" and rows["7.1"]["storage"] == "+70%"  # 1 - 20/138
    assert rows["7.2"]["cut"] == "83.3%" and rows["7.3"]["cut"] == "80.0%"
    assert [rows[s]["CSR cut"] for s in ("7.1", "7.2", "7.3")] == ["71.0%", "66.7%", "60.0%"]
    assert rows["7.1"]["real count"] == "25,557,032"  # ResNet-50, not 138M
    assert rows["7.3"]["real count"] == "no such model"


def test_claims_are_measured_from_the_book_method_row():
    rows = [
        _row("dense", 0.90, 1000, 5000, 4.0, 8.0),
        _row("dense+retrain", 0.92, 1000, 5000, 4.0, 8.0),
        _row("magnitude 80%", 0.10, 200, 1000, 4.0, 1.6),
        _row("L1+threshold 80% (book)", 0.89, 250, 2000, 4.0, 3.0),
    ]
    claims = section7_claims({"image": rows})
    assert len(claims) == 12
    mine = {c["claim"]: c["in miniature"] for c in claims if c["§"] == "7.1"}
    assert mine["parameters"] == "1,000 → 250 non-zeros (-75.0%)"
    assert mine["accuracy"] == "90.0% → 89.0% (-3.0 vs control 92.0%)"
    assert mine["compute"].startswith("MACs -60.0%")
    assert mine["storage"] == "4.0 kB dense → 3.0 kB CSR (-25.0%)"
    assert all(c["in miniature"] == "not run (--study text)" for c in claims if c["§"] == "7.2")
