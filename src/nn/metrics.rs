//! Binary classification metrics on held-out windows.
//!
//! Definitions as in scikit-learn (`accuracy_score`, `confusion_matrix`,
//! `precision_recall_fscore_support`, `roc_auc_score`): precision or recall with an empty
//! denominator is reported as 0 (sklearn's `zero_division=0`), ROC-AUC is the Mann–Whitney
//! probability that a random positive scores above a random negative, ties counting one half, and
//! is undefined (None) when one class is absent.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    pub n: u64,
    pub accuracy: f64,
    /// Mean cross-entropy of the predicted probabilities.
    pub loss: f64,
    /// `confusion[true][predicted]`.
    pub confusion: [[u64; 2]; 2],
    /// Per class: index 0 = quiet, 1 = precursor.
    pub classes: [ClassMetrics; 2],
    pub roc_auc: Option<f64>,
    /// Fraction of the larger class: the accuracy of always predicting it.
    pub majority_rate: f64,
}

/// Metrics of probabilities `p[i] = [P(0), P(1)]` against `labels` (0 or 1).
pub fn classify(p: &[[f64; 2]], labels: &[i64]) -> Metrics {
    assert_eq!(p.len(), labels.len());
    let n = labels.len();
    let mut confusion = [[0u64; 2]; 2];
    let mut loss = 0.0;
    for (pi, &y) in p.iter().zip(labels) {
        let y = y as usize;
        let pred = usize::from(pi[1] > pi[0]);
        confusion[y][pred] += 1;
        loss -= pi[y].max(f64::MIN_POSITIVE).ln();
    }
    let class = |c: usize| {
        let tp = confusion[c][c] as f64;
        let predicted = (confusion[0][c] + confusion[1][c]) as f64;
        let support = confusion[c][0] + confusion[c][1];
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, support as f64);
        ClassMetrics {
            precision,
            recall,
            f1: ratio(2.0 * precision * recall, precision + recall),
            support,
        }
    };
    let classes = [class(0), class(1)];
    let scores: Vec<(f64, i64)> = p
        .iter()
        .map(|pi| pi[1])
        .zip(labels.iter().copied())
        .collect();
    let majority = classes[0].support.max(classes[1].support);
    Metrics {
        n: n as u64,
        accuracy: (confusion[0][0] + confusion[1][1]) as f64 / n.max(1) as f64,
        loss: loss / n.max(1) as f64,
        confusion,
        roc_auc: roc_auc(&scores),
        majority_rate: majority as f64 / n.max(1) as f64,
        classes,
    }
}

/// Area under the ROC curve from (score, label) pairs, by mid-ranks (ties count one half).
pub fn roc_auc(scores: &[(f64, i64)]) -> Option<f64> {
    let mut s: Vec<(f64, i64)> = scores.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (npos, nneg) = (
        s.iter().filter(|x| x.1 == 1).count() as f64,
        s.iter().filter(|x| x.1 != 1).count() as f64,
    );
    if npos == 0.0 || nneg == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j + 1 < s.len() && s[j + 1].0 == s[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * s[i..=j].iter().filter(|x| x.1 == 1).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - npos * (npos + 1.0) / 2.0) / (npos * nneg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn 1.x: `roc_auc_score([0,0,1,1,1,0], [.1,.4,.35,.8,.4,.2])` = 0.8333…
    /// (7.5 of 9 pairs; one positive tied with a negative at 0.4), and
    /// `precision_recall_fscore_support` of the arg-max predictions [0,0,0,1,0,0]:
    /// precision [0.6, 1.0], recall [1.0, 1/3], F1 [0.75, 0.5].
    #[test]
    fn matches_sklearn_on_a_small_case() {
        let labels = [0, 0, 1, 1, 1, 0];
        let s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.2];
        let p: Vec<[f64; 2]> = s.iter().map(|&x| [1.0 - x, x]).collect();
        let m = classify(&p, &labels);
        assert!((m.roc_auc.unwrap() - 7.5 / 9.0).abs() < 1e-12);
        assert!((m.classes[0].f1 - 0.75).abs() < 1e-12);
        assert_eq!(m.confusion, [[3, 0], [2, 1]]);
        assert!((m.classes[0].precision - 0.6).abs() < 1e-12);
        assert!((m.classes[1].recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.classes[1].f1 - 0.5).abs() < 1e-12);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(m.majority_rate, 0.5);
    }

    #[test]
    fn auc_is_undefined_with_one_class() {
        assert_eq!(roc_auc(&[(0.3, 1), (0.9, 1)]), None);
    }
}
