//! WGS84 distances against geographiclib (tests/data/geodesic, made by generate.py there).

use crate::util::data_dir;

#[test]
fn distances_match_geographiclib() {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("geodesic/wgs84_distances.json")).unwrap(),
    )
    .unwrap();
    for p in v["pairs"].as_array().unwrap() {
        let f = |k: &str| p[k].as_f64().unwrap();
        let want = f("km");
        let got = quakeline::geo::distance_km(f("lat1"), f("lon1"), f("lat2"), f("lon2"));
        // 1 mm wherever Vincenty converges (all but the antipodal pair), 0.5 % on the sphere fallback.
        let tol = if want > 19_000.0 { want * 5e-3 } else { 1e-6 };
        assert!((got - want).abs() <= tol, "{p}: {got} km vs {want} km");
    }
}
