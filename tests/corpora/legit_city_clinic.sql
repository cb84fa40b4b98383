-- Legitimate analytics queries for city_clinic (blocks separated by "-- ;;" lines).
-- ;;
SELECT status, count(*) FROM appointments GROUP BY status ORDER BY 2 DESC
-- ;;
SELECT visit_type, count(*) FILTER (WHERE status = 'no_show') AS no_shows, count(*) AS booked,
       round(100.0 * count(*) FILTER (WHERE status = 'no_show') / count(*), 1) AS no_show_pct
FROM appointments GROUP BY visit_type ORDER BY no_show_pct DESC
-- ;;
SELECT d.name, d.specialty, count(a.id) AS visits FROM doctors d LEFT JOIN appointments a ON a.doctor_id = d.id AND a.status = 'completed'
GROUP BY d.id, d.name, d.specialty ORDER BY visits DESC LIMIT 10
-- ;;
SELECT dep.name, count(DISTINCT doc.id) AS doctors, count(a.id) AS appointments
FROM departments dep LEFT JOIN doctors doc ON doc.department_id = dep.id LEFT JOIN appointments a ON a.doctor_id = doc.id
GROUP BY dep.name ORDER BY appointments DESC
-- ;;
SELECT date_trunc('month', scheduled_at) AS month, count(*) FROM appointments GROUP BY 1 ORDER BY 1
-- ;;
SELECT extract(hour FROM scheduled_at AT TIME ZONE 'America/Denver') AS local_hour, count(*) FROM appointments GROUP BY 1 ORDER BY 1
-- ;;
SELECT avg(scheduled_at - booked_at) AS avg_lead_time FROM appointments WHERE status = 'completed'
-- ;;
SELECT p.name, date_part('year', age(DATE '2026-11-01', p.date_of_birth)) AS age FROM patients p ORDER BY p.date_of_birth LIMIT 10
-- ;;
SELECT CASE WHEN age(DATE '2026-11-01', date_of_birth) < INTERVAL '18 years' THEN 'child'
            WHEN age(DATE '2026-11-01', date_of_birth) < INTERVAL '65 years' THEN 'adult' ELSE 'senior' END AS band,
       count(*)
FROM patients GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT sex, count(*) FROM patients GROUP BY sex
-- ;;
SELECT preferences->>'contact_method' AS method, count(*) FROM patients GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT count(*) FROM patients WHERE (preferences->>'appointment_reminders')::boolean
-- ;;
SELECT preferences->>'language' AS language, count(*) FROM patients GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT need, count(*) FROM patients, jsonb_array_elements_text(preferences->'accessibility') AS need GROUP BY need
-- ;;
SELECT name FROM patients WHERE preferences @> '{"preferred_time": "morning"}' ORDER BY name LIMIT 10
-- ;;
SELECT ip.name, ip.plan_type, count(p.id) AS patients FROM insurance_providers ip LEFT JOIN patients p ON p.insurance_provider_id = ip.id GROUP BY ip.id, ip.name, ip.plan_type ORDER BY patients DESC
-- ;;
SELECT status, count(*), sum(amount), sum(patient_due) FROM invoices GROUP BY status
-- ;;
SELECT date_trunc('quarter', issued_on)::date AS quarter, sum(amount) AS billed, sum(insurance_covered) AS insurer, sum(patient_due) AS patients
FROM invoices GROUP BY 1 ORDER BY 1
-- ;;
SELECT i.id, i.issued_on, i.paid_on, i.paid_on - i.issued_on AS days_to_pay FROM invoices i WHERE i.paid_on IS NOT NULL ORDER BY days_to_pay DESC LIMIT 10
-- ;;
SELECT p.name, sum(i.patient_due) AS owed FROM invoices i JOIN patients p ON p.id = i.patient_id WHERE i.status IN ('open', 'overdue') GROUP BY p.name ORDER BY owed DESC LIMIT 10
-- ;;
SELECT icd10_code, description, count(*) FROM diagnoses WHERE is_primary GROUP BY icd10_code, description ORDER BY 3 DESC LIMIT 15
-- ;;
SELECT left(icd10_code, 1) AS chapter, count(*) FROM diagnoses GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT m.name, m.drug_class, count(pr.id) AS prescriptions FROM medications m LEFT JOIN prescriptions pr ON pr.medication_id = m.id GROUP BY m.id, m.name, m.drug_class ORDER BY prescriptions DESC LIMIT 10
-- ;;
SELECT m.is_controlled, count(*) FROM prescriptions pr JOIN medications m ON m.id = pr.medication_id GROUP BY 1
-- ;;
SELECT d.name, count(*) FILTER (WHERE m.is_controlled) AS controlled, count(*) AS total
FROM prescriptions pr JOIN doctors d ON d.id = pr.doctor_id JOIN medications m ON m.id = pr.medication_id GROUP BY d.name ORDER BY controlled DESC LIMIT 10
-- ;;
SELECT test_name, count(*) FILTER (WHERE is_abnormal) AS abnormal, count(*) AS total, round(avg(result_value), 2) AS mean FROM lab_results GROUP BY test_name ORDER BY abnormal DESC
-- ;;
SELECT test_name, percentile_cont(0.5) WITHIN GROUP (ORDER BY resulted_at - collected_at) AS median_turnaround FROM lab_results GROUP BY test_name
-- ;;
SELECT patient_id, test_name, result_value, lag(result_value) OVER (PARTITION BY patient_id, test_name ORDER BY collected_at) AS previous
FROM lab_results WHERE patient_id = 10 ORDER BY test_name, collected_at
-- ;;
SELECT r.room_type, count(a.id) AS uses FROM rooms r LEFT JOIN appointments a ON a.room_id = r.id GROUP BY r.room_type ORDER BY uses DESC
-- ;;
SELECT d.name, d.consultation_fee, rank() OVER (PARTITION BY d.specialty ORDER BY d.consultation_fee DESC) FROM doctors d ORDER BY d.specialty, 3
-- ;;
SELECT specialty, round(avg(consultation_fee), 2), max(consultation_fee) FROM doctors GROUP BY specialty ORDER BY 2 DESC
-- ;;
SELECT name, credential FROM doctors WHERE is_accepting_patients AND specialty ILIKE '%psychiatry%'
-- ;;
SELECT p.name, last_visit.at FROM patients p
CROSS JOIN LATERAL (SELECT max(a.scheduled_at) AS at FROM appointments a WHERE a.patient_id = p.id AND a.status = 'completed') last_visit
WHERE last_visit.at IS NOT NULL ORDER BY last_visit.at LIMIT 10
-- ;;
SELECT count(*) FROM patients p WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id AND a.scheduled_at >= TIMESTAMPTZ '2026-05-01')
-- ;;
WITH visits AS (SELECT patient_id, count(*) AS n FROM appointments WHERE status = 'completed' GROUP BY patient_id)
SELECT width_bucket(n, 0, 30, 6) AS bucket, count(*) FROM visits GROUP BY 1 ORDER BY 1
-- ;;
SELECT reason, count(*) FROM appointments WHERE reason ILIKE '%pain%' GROUP BY reason ORDER BY 2 DESC LIMIT 10
-- ;;
SELECT id, notes FROM appointments WHERE notes IS NOT NULL AND notes ~* 'interpret|imaging' LIMIT 10
-- ;;
SELECT status, visit_type, count(*) FROM appointments GROUP BY ROLLUP (status, visit_type) ORDER BY 1, 2
-- ;;
SELECT to_char(scheduled_at, 'YYYY-MM') AS month, count(DISTINCT patient_id) AS unique_patients FROM appointments GROUP BY 1 ORDER BY 1 DESC LIMIT 12
-- ;;
SELECT dosage, frequency, count(*) FROM prescriptions GROUP BY GROUPING SETS ((dosage), (frequency)) ORDER BY 3 DESC LIMIT 20
-- ;;
SELECT status, avg(days_supply), sum(refills) FROM prescriptions GROUP BY status
-- ;;
SELECT state, city, count(*) FROM patients GROUP BY CUBE (state, city) ORDER BY 3 DESC LIMIT 10
-- ;;
SELECT d.name AS department, d.floor, string_agg(r.room_number, ', ' ORDER BY r.room_number) AS rooms FROM departments d JOIN rooms r ON r.department_id = d.id GROUP BY d.name, d.floor
