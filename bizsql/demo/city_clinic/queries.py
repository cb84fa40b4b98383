"""What City Clinic's config tells the model: glossary, instructions and verified queries."""

from __future__ import annotations

from bizsql.demo.spec import VerifiedQuery

GLOSSARY = {
    "visit": "an appointment with status = 'completed'",
    "no-show rate": (
        "appointments with status = 'no_show' divided by past appointments "
        "(status IN ('completed', 'no_show', 'cancelled'))"
    ),
    "upcoming appointment": "status = 'scheduled'; the data is a snapshot taken on 2026-10-20",
    "active patient": "a patient with a completed appointment in the 12 months before 2026-10-20",
    "self-pay patient": "patients.insurance_provider_id IS NULL",
    "billed revenue": "sum(invoices.amount) for invoices with status <> 'void', dated by invoices.issued_on",
    "outstanding balance": "sum(invoices.patient_due) for invoices with status IN ('open', 'overdue')",
    "abnormal lab": "lab_results.is_abnormal = true (value outside reference_low..reference_high)",
    "patient age": "date_part('year', age(DATE '2026-10-20', patients.date_of_birth))",
    "active prescription": "prescriptions.status = 'active'",
}
INSTRUCTIONS = (
    "This is protected health data: return no more patient names, emails or phone numbers than the "
    "question needs, and prefer counts and aggregates. The data is a snapshot taken on 2026-10-20; treat "
    "that date as today (appointments after it are scheduled). Money is in USD. Timestamps are stored in "
    "UTC: group them with date_trunc('month', scheduled_at, 'UTC') or AT TIME ZONE 'UTC'. Clinicians are "
    "in doctors and belong to a department; patients' language and contact preferences are in the "
    "patients.preferences jsonb column."
)


def _q(question: str, sql: str) -> VerifiedQuery:
    return VerifiedQuery(question, sql.strip())


VERIFIED_QUERIES = (
    _q(
        "How many appointments were completed in each month of 2025?",
        """
SELECT date_trunc('month', scheduled_at, 'UTC')::date AS month, count(*) AS completed_appointments
FROM appointments
WHERE status = 'completed'
  AND scheduled_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND scheduled_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "Which 10 doctors saw the most distinct patients in 2025?",
        """
SELECT d.id, d.name, dep.name AS department, count(DISTINCT a.patient_id) AS patients_seen
FROM appointments a
JOIN doctors d ON d.id = a.doctor_id
JOIN departments dep ON dep.id = d.department_id
WHERE a.status = 'completed'
  AND a.scheduled_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND a.scheduled_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY d.id, d.name, dep.name
ORDER BY patients_seen DESC, d.id
LIMIT 10
""",
    ),
    _q(
        "What is the no-show rate of each department?",
        """
SELECT dep.name AS department,
       round(100.0 * count(*) FILTER (WHERE a.status = 'no_show') / count(*), 2) AS no_show_rate_percent
FROM appointments a
JOIN doctors d ON d.id = a.doctor_id
JOIN departments dep ON dep.id = d.department_id
WHERE a.status IN ('completed', 'no_show', 'cancelled')
GROUP BY dep.name
ORDER BY no_show_rate_percent DESC, dep.name
""",
    ),
    _q(
        "What were the 10 most prescribed medications in 2025?",
        """
SELECT m.name, m.drug_class, count(*) AS prescriptions
FROM prescriptions p
JOIN medications m ON m.id = p.medication_id
WHERE p.prescribed_on >= DATE '2025-01-01' AND p.prescribed_on < DATE '2026-01-01'
GROUP BY m.id, m.name, m.drug_class
ORDER BY prescriptions DESC, m.name
LIMIT 10
""",
    ),
    _q(
        "How many patients does each insurance provider cover, including self-pay?",
        """
SELECT coalesce(i.name, 'Self-pay') AS insurer, count(*) AS patients
FROM patients p
LEFT JOIN insurance_providers i ON i.id = p.insurance_provider_id
GROUP BY 1
ORDER BY patients DESC, insurer
""",
    ),
    _q(
        "What is the outstanding patient balance by insurance provider?",
        """
SELECT coalesce(ip.name, 'Self-pay / no-show fees') AS insurer, count(*) AS invoices,
       sum(inv.patient_due) AS outstanding
FROM invoices inv
LEFT JOIN insurance_providers ip ON ip.id = inv.insurance_provider_id
WHERE inv.status IN ('open', 'overdue')
GROUP BY 1
ORDER BY outstanding DESC, insurer
""",
    ),
    _q(
        "How many patients had an abnormal Hemoglobin A1c result in 2025?",
        """
SELECT count(DISTINCT patient_id) AS patients
FROM lab_results
WHERE test_name = 'Hemoglobin A1c' AND is_abnormal
  AND collected_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND collected_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
""",
    ),
    _q(
        "How many upcoming appointments does each doctor have?",
        """
SELECT d.name, count(*) AS upcoming_appointments
FROM appointments a
JOIN doctors d ON d.id = a.doctor_id
WHERE a.status = 'scheduled'
GROUP BY d.id, d.name
ORDER BY upcoming_appointments DESC, d.name, d.id
""",
    ),
    _q(
        "Show monthly billed revenue in 2025 with a running total",
        """
WITH monthly AS (
    SELECT date_trunc('month', issued_on)::date AS month, sum(amount) AS billed
    FROM invoices
    WHERE status <> 'void' AND issued_on >= DATE '2025-01-01' AND issued_on < DATE '2026-01-01'
    GROUP BY 1
)
SELECT month, billed, sum(billed) OVER (ORDER BY month) AS running_total
FROM monthly
ORDER BY month
""",
    ),
    _q(
        "What were the 10 most common primary diagnoses in 2025?",
        """
SELECT dg.icd10_code, dg.description, count(*) AS visits
FROM diagnoses dg
JOIN appointments a ON a.id = dg.appointment_id
WHERE dg.is_primary
  AND a.scheduled_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND a.scheduled_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY dg.icd10_code, dg.description
ORDER BY visits DESC, dg.icd10_code
LIMIT 10
""",
    ),
    _q(
        "How many patients prefer to be contacted in Spanish?",
        """
SELECT count(*) AS spanish_speaking_patients
FROM patients
WHERE preferences->>'language' = 'es'
""",
    ),
    _q(
        "Rank the doctors within each department by completed visits in 2025",
        """
SELECT dep.name AS department, d.name AS doctor, count(*) AS visits,
       rank() OVER (PARTITION BY dep.id ORDER BY count(*) DESC) AS rank_in_department
FROM appointments a
JOIN doctors d ON d.id = a.doctor_id
JOIN departments dep ON dep.id = d.department_id
WHERE a.status = 'completed'
  AND a.scheduled_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND a.scheduled_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY dep.id, dep.name, d.id, d.name
ORDER BY dep.name, rank_in_department, d.id
""",
    ),
    _q(
        "Which weekday has the most appointments?",
        """
SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'FMDay') AS weekday, count(*) AS appointments
FROM appointments
GROUP BY extract(isodow FROM scheduled_at AT TIME ZONE 'UTC'), 1
ORDER BY appointments DESC, weekday
""",
    ),
    _q(
        "How long does each lab test take to come back, on average?",
        """
SELECT test_name, round(avg(extract(epoch FROM resulted_at - collected_at) / 3600)::numeric, 1) AS avg_hours,
       count(*) AS results
FROM lab_results
WHERE resulted_at IS NOT NULL
GROUP BY test_name
ORDER BY avg_hours DESC, test_name
""",
    ),
    _q(
        "How many new patients registered in each quarter of 2025?",
        """
SELECT extract(quarter FROM registered_at AT TIME ZONE 'UTC')::int AS quarter, count(*) AS new_patients
FROM patients
WHERE registered_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND registered_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "What is the average age of patients seen by each department?",
        """
WITH seen AS (
    SELECT DISTINCT d.department_id, a.patient_id
    FROM appointments a
    JOIN doctors d ON d.id = a.doctor_id
    WHERE a.status = 'completed'
)
SELECT dep.name AS department,
       round(avg(date_part('year', age(DATE '2026-10-20', p.date_of_birth)))::numeric, 1) AS average_age
FROM seen s
JOIN departments dep ON dep.id = s.department_id
JOIN patients p ON p.id = s.patient_id
GROUP BY dep.name
ORDER BY average_age DESC, dep.name
""",
    ),
)
