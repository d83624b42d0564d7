"""Vocabulary of the sample site: departments, their FAQ topics, names and sentence templates."""

from __future__ import annotations

# Each department carries the words its pages are written from. Topic names are unique across
# departments because a topic's FAQ page is addressed by its slug alone. "Als" is spelled the way
# the real site's Related FAQ spells it. Weights follow how busy each department is on the site.
DEPARTMENTS = [
    {
        "name": "Neurology", "weight": 14,
        "topics": ["Muscle Twitching", "Eyelid Twitching", "Facial Twitching", "Als", "Headache",
                   "Migraine", "Dizziness", "Tingling Sensation", "Tremor", "Numbness",
                   "Myasthenia Gravis", "Involuntary Body Movements"],
        "symptoms": ["muscle twitching", "numbness in my fingers", "a tingling sensation in my feet",
                     "recurring headaches", "dizziness when I stand up", "trembling hands",
                     "twitching of my left eyelid", "occasional memory lapses"],
        "conditions": ["ALS", "multiple sclerosis", "peripheral neuropathy", "migraine",
                       "a pinched nerve", "Parkinson's disease", "benign fasciculation syndrome"],
        "tests": ["an EMG", "a brain MRI", "a nerve conduction study", "an EEG"],
        "treatments": ["magnesium supplements", "muscle relaxants", "vitamin B complex",
                       "physical therapy"],
        "body": ["calves", "thighs", "left hand", "eyelid", "neck", "forearm"],
    },
    {
        "name": "Dermatology", "weight": 10,
        "topics": ["Acne", "Eczema", "Hives", "Hair Loss", "Moles", "Fungal Infection", "Psoriasis",
                   "Warts", "Itchy Skin", "Seborrheic Dermatitis"],
        "symptoms": ["an itchy red rash", "small white bumps", "flaking skin on my scalp",
                     "a mole that changed colour", "hair thinning at the crown", "dry cracked skin"],
        "conditions": ["eczema", "psoriasis", "contact dermatitis", "tinea", "urticaria",
                       "melanoma", "folliculitis"],
        "tests": ["a skin biopsy", "a fungal scraping test", "dermoscopy", "an allergy patch test"],
        "treatments": ["a topical steroid cream", "antihistamines", "an antifungal ointment",
                       "a gentle moisturiser"],
        "body": ["forearms", "scalp", "back", "face", "palms"],
    },
    {
        "name": "Obstetrics and Gynecology", "weight": 12,
        "topics": ["Irregular Menstruation", "Pregnancy Test", "Vaginal Discharge", "Ovarian Cyst",
                   "Uterine Fibroids", "Emergency Contraception", "Menstrual Cramps", "HPV Vaccine",
                   "Spotting", "Birth Control Pills"],
        "symptoms": ["irregular periods", "spotting between periods", "lower abdominal pain",
                     "unusual vaginal discharge", "severe menstrual cramps", "a delayed period"],
        "conditions": ["polycystic ovary syndrome", "an ovarian cyst", "endometriosis",
                       "uterine fibroids", "a hormonal imbalance", "an early pregnancy"],
        "tests": ["a pelvic ultrasound", "a blood hormone test", "a Pap smear", "a pregnancy test"],
        "treatments": ["oral contraceptives", "progesterone", "pain relievers",
                       "iron supplements"],
        "body": ["lower abdomen", "lower back", "pelvis"],
    },
    {
        "name": "Ophthalmology", "weight": 8,
        "topics": ["Floaters", "Dry Eye", "Myopia", "Blurred Vision", "Conjunctivitis", "Glaucoma",
                   "Cataract", "Eye Strain", "Lasik Surgery"],
        "symptoms": ["floaters in my right eye", "blurred vision", "dry and gritty eyes",
                     "flashes of light", "red eyes in the morning", "eye strain after work"],
        "conditions": ["retinal detachment", "vitreous degeneration", "dry eye syndrome",
                       "glaucoma", "conjunctivitis", "high myopia"],
        "tests": ["a dilated fundus examination", "an intraocular pressure test", "an OCT scan",
                  "a visual field test"],
        "treatments": ["artificial tears", "antibiotic eye drops", "warm compresses",
                       "new prescription glasses"],
        "body": ["right eye", "left eye", "eyelids"],
    },
    {
        "name": "Otolaryngology", "weight": 7,
        "topics": ["Tinnitus", "Sore Throat", "Nasal Congestion", "M\u00e9ni\u00e8re's Disease",
                   "Hearing Loss", "Tonsillitis", "Sinusitis", "Nosebleeds", "Vertigo"],
        "symptoms": ["ringing in my ears", "a persistent sore throat", "a blocked nose",
                     "frequent nosebleeds", "muffled hearing", "a spinning sensation"],
        "conditions": ["M\u00e9ni\u00e8re's disease", "chronic sinusitis", "tonsillitis",
                       "allergic rhinitis", "sudden sensorineural hearing loss", "laryngopharyngeal reflux"],
        "tests": ["a hearing test", "a nasal endoscopy", "a tympanometry test", "a CT scan of the sinuses"],
        "treatments": ["a steroid nasal spray", "saline nasal irrigation", "antibiotics",
                       "throat lozenges"],
        "body": ["left ear", "throat", "nose", "sinuses"],
    },
    {
        "name": "Cardiology", "weight": 8,
        "topics": ["Chest Pain", "Palpitations", "High Blood Pressure", "Arrhythmia", "Heart Murmur",
                   "Shortness of Breath", "High Cholesterol", "Mitral Valve Prolapse"],
        "symptoms": ["chest tightness", "heart palpitations", "shortness of breath on stairs",
                     "a racing heartbeat at night", "swollen ankles", "occasional skipped beats"],
        "conditions": ["arrhythmia", "coronary artery disease", "mitral valve prolapse",
                       "hypertension", "premature ventricular contractions", "anxiety"],
        "tests": ["an ECG", "a 24-hour Holter monitor", "a cardiac ultrasound",
                  "a treadmill stress test"],
        "treatments": ["beta blockers", "blood pressure medication", "a low-salt diet",
                       "regular aerobic exercise"],
        "body": ["chest", "left arm", "heart"],
    },
    {
        "name": "Gastroenterology", "weight": 9,
        "topics": ["Acid Reflux", "Bloating", "Constipation", "Diarrhea", "Stomach Pain",
                   "Hepatitis B", "Fatty Liver", "Irritable Bowel Syndrome", "Blood in Stool",
                   "Nausea & Vomiting"],
        "symptoms": ["a burning feeling after meals", "bloating and gas", "irregular bowel movements",
                     "upper abdominal pain", "nausea in the morning", "a sour taste in my mouth"],
        "conditions": ["gastroesophageal reflux disease", "irritable bowel syndrome", "gastritis",
                       "a peptic ulcer", "fatty liver", "Helicobacter pylori infection"],
        "tests": ["an upper endoscopy", "a colonoscopy", "an abdominal ultrasound",
                  "a stool occult blood test"],
        "treatments": ["proton pump inhibitors", "probiotics", "a high-fibre diet", "antacids"],
        "body": ["stomach", "upper abdomen", "lower right abdomen"],
    },
    {
        "name": "Urology", "weight": 6,
        "topics": ["Frequent Urination", "Kidney Stones", "Prostatitis", "Urinary Tract Infection",
                   "Blood in Urine", "Erectile Dysfunction", "Varicocele", "Phimosis"],
        "symptoms": ["frequent urination at night", "pain when urinating", "lower back pain",
                     "blood in my urine", "a weak urine stream", "discomfort in the groin"],
        "conditions": ["a urinary tract infection", "kidney stones", "prostatitis",
                       "an overactive bladder", "a varicocele", "benign prostatic hyperplasia"],
        "tests": ["a urinalysis", "a kidney ultrasound", "a PSA blood test", "a urine culture"],
        "treatments": ["antibiotics", "alpha blockers", "drinking more water",
                       "pelvic floor exercises"],
        "body": ["lower back", "groin", "bladder"],
    },
    {
        "name": "Orthopedics", "weight": 8,
        "topics": ["Back Pain", "Knee Pain", "Sprained Ankle", "Scoliosis", "Herniated Disc",
                   "Frozen Shoulder", "Plantar Fasciitis", "Fracture Healing",
                   "Carpal Tunnel Syndrome"],
        "symptoms": ["lower back pain", "knee pain when climbing stairs", "a stiff shoulder",
                     "heel pain in the morning", "wrist pain when typing", "a swollen ankle"],
        "conditions": ["a herniated disc", "a meniscus tear", "frozen shoulder",
                       "plantar fasciitis", "carpal tunnel syndrome", "osteoarthritis"],
        "tests": ["an X-ray", "an MRI of the spine", "a bone density scan", "a musculoskeletal ultrasound"],
        "treatments": ["physical therapy", "anti-inflammatory painkillers", "a brace",
                       "stretching exercises"],
        "body": ["right knee", "lower back", "shoulder", "ankle", "wrist"],
    },
    {
        "name": "Psychiatry", "weight": 7,
        "topics": ["Anxiety", "Depression", "Panic Attacks", "Sleep Problems",
                   "Obsessive-Compulsive Disorder", "Antidepressants", "Stress", "Bipolar Disorder"],
        "symptoms": ["constant worrying", "trouble falling asleep", "sudden panic attacks",
                     "low mood for weeks", "racing thoughts", "loss of interest in things"],
        "conditions": ["generalised anxiety disorder", "depression", "panic disorder",
                       "obsessive-compulsive disorder", "bipolar disorder", "adjustment disorder"],
        "tests": ["a psychological assessment", "a thyroid function test", "a sleep study",
                  "a depression screening questionnaire"],
        "treatments": ["cognitive behavioural therapy", "an SSRI antidepressant",
                       "a short course of sleeping pills", "relaxation training"],
        "body": ["chest", "stomach", "head"],
    },
    {
        "name": "Pediatrics", "weight": 6,
        "topics": ["Fever in Children", "Infant Rash", "Child Growth", "Infant Feeding",
                   "Vaccination", "Hand, Foot and Mouth Disease", "Croup", "Teething"],
        "symptoms": ["a fever that comes and goes", "a rash on my baby's cheeks",
                     "poor appetite", "a barking cough at night", "slow weight gain",
                     "frequent night waking"],
        "conditions": ["a viral infection", "hand, foot and mouth disease", "croup",
                       "atopic dermatitis", "growth hormone deficiency", "a milk allergy"],
        "tests": ["a blood count", "a bone age X-ray", "a throat swab", "a urine test"],
        "treatments": ["fever reducers", "oral rehydration solution", "a hypoallergenic formula",
                       "a humidifier at night"],
        "body": ["cheeks", "mouth", "chest", "diaper area"],
    },
    {
        "name": "Dentistry", "weight": 5,
        "topics": ["Toothache", "Wisdom Teeth", "Gum Bleeding", "Root Canal", "Orthodontics",
                   "Tooth Sensitivity", "Dental Implants", "Bad Breath"],
        "symptoms": ["a throbbing toothache", "bleeding gums when brushing",
                     "sensitivity to cold drinks", "swelling near a wisdom tooth", "bad breath",
                     "jaw pain when chewing"],
        "conditions": ["pulpitis", "gingivitis", "pericoronitis", "a cracked tooth",
                       "periodontitis", "temporomandibular joint disorder"],
        "tests": ["a dental X-ray", "a panoramic radiograph", "a periodontal probing exam",
                  "a cone beam CT"],
        "treatments": ["a root canal treatment", "a scaling and cleaning", "desensitising toothpaste",
                       "extraction of the wisdom tooth"],
        "body": ["lower left molar", "gums", "jaw"],
    },
]

SURNAMES = [
    "Chen", "Lin", "Huang", "Zhang", "Li", "Wang", "Wu", "Liu", "Cai", "Yang", "Xu", "Zheng", "Xie",
    "Hong", "Guo", "Qiu", "Zeng", "Liao", "Lai", "Zhou", "Ye", "Su", "Zhuang", "Lu", "Jiang", "He",
    "Gao", "Luo", "Pan", "Jian", "Chang", "Hsu", "Tsai", "Kuo", "Chiu", "Tseng", "Hsieh", "Cheng",
]

# Syllables of romanised given names, both pinyin and Wade-Giles spellings, as on Taiwanese pages.
GIVEN_SYLLABLES = [
    "chun", "de", "jun", "yi", "wei", "bin", "yu", "hsuan", "ming", "hui", "ling", "zhi", "hao",
    "ting", "ya", "jia", "xin", "chen", "kai", "rong", "mei", "fang", "shu", "han", "yan", "qing",
    "tsung", "chih", "hsin", "wen", "po", "an", "cheng", "hung", "kuan", "zhong",
]

HONORIFICS = {"male": ["Mr."], "female": ["Ms.", "Mrs.", "Miss"]}

# Pseudonyms some askers use instead of an honorific; includes accented and CJK ones on purpose.
PSEUDONYMS = ["Xiao Mei", "A-Hua", "Kevin", "Chlo\u00e9", "\u5c0f\u7f8e", "Annie", "Ah-Ming",
              "Jessie", "Ren\u00e9e", "\u963f\u5049"]

HOSPITALS = ["Changhua Hospital", "Taoyuan General Hospital", "Keelung Hospital", "Hsinchu Hospital",
             "Tainan Hospital", "Taichung Hospital"]

EVENTS = ["Exercise", "Surgery", "a Cold", "Childbirth", "Vaccination", "a Long Flight", "Stress"]

DURATIONS = ["two weeks", "a month", "2-3 months", "half a year", "several days", "a year"]

FREQUENCIES = ["several times a day", "once or twice a week", "almost every night",
               "every few days", "mostly in the morning"]

# Title templates. Some contain " - " or characters that need HTML escaping, as real titles do.
TITLE_TEMPLATES = [
    "{Topic}: Is It a Sign of {TCondition} or {TCondition2}?",
    "Understanding {Topic}: Could It Be {TCondition}?",
    "Understanding {TSymptom}: Causes and When to Worry",
    "{Topic} After {Event} - Should I Be Worried?",
    "Concerns About {TSymptom}: When to See a Specialist",
    "{TSymptom} for {TDuration}: Is {TTest} Necessary?",
    "{Topic} & {TCondition}: What Are the Risks?",
    "Persistent {TSymptom} - Is It {TCondition}?",
    "Is My {Topic} \"Just Stress\"? Seeking a Second Opinion",
    "{Topic}: What If My Results Are < Normal Range?",
    "Managing {Topic} at Home: Tips and Warning Signs",
    "{Topic} or {TCondition}? Understanding the Difference",
]

SUBJECT_TEMPLATES = [
    "{Symptom} and {condition}",
    "Question about {symptom}",
    "{Symptom} for {duration}, is it {condition}?",
    "Worried about {condition}",
    "{Symptom} - should I get {test}?",
    "{Topic} problem",
    "About {topic_l} and {treatment}",
]

GREETINGS = ["Hello, Doctor {doc}:", "Hello Doctor:", "Dear Dr. {doc},", "Hello, Dr. {doc}.",
             "Hi Doctor,", "Doctor, hello:"]

# A question: the age line (only when the asker shows an age band), one onset sentence, some
# details, then at most one direct question, in that order, as people write them.
QUESTION_AGE = "I am currently {age} years old."

QUESTION_ONSETS = [
    "About {duration} ago, I started to notice {symptom}.",
    "For the past {duration}, I have had {symptom}.",
    "I have been experiencing {symptom} for {duration}, mostly in my {body}.",
    "Since {duration} ago, {symptom} has been bothering me.",
]

QUESTION_DETAILS = [
    "It happens {freq}, and each episode lasts a few minutes.",
    "I usually don't pay much attention to it, but when I am still and focus, I can feel it in my {body}.",
    "I mentioned this to a doctor at the clinic, who suggested it might be {condition2}.",
    "However, the same symptoms have persisted recently, with no significant change.",
    "I searched online and I am worried that this could be {condition}.",
    "Recently it has become more frequent, especially in the evening.",
    "I had {test} last year and the results were normal.",
    "I have been taking {treatment} for {duration}, but I am not sure whether it helps.",
    "My family has a history of {condition}, so I am quite anxious about it.",
    "There is no obvious pain, but my {body} feels stiff in the morning.",
    "I also drink 2-3 cups of coffee a day & usually sleep less than 6 hours.",
    "The nurse said my resting heart rate was < 60, which she thought was fine.",
    "The doctor told me it was \"nothing serious\", but I am still worried.",
    "I work at a caf\u00e9 and stand for long hours every day.",
    "The pharmacy gave me painkillers (\u6b62\u75db\u85e5), but I would rather understand the cause.",
    "I don't feel particularly weak, and my daily activity is normal.",
    "Sometimes it comes together with {symptom2}.",
    "After {duration} of careful observation, there hasn't been much variation.",
]

QUESTION_ASKS = [
    "Is this something serious, or can I just observe it for a while?",
    "Should I see a specialist, or is {test} necessary?",
    "Could this be {condition}?",
    "What kind of examination would you recommend?",
]

CLOSINGS = ["Could you please clarify this for me? Thank you very much.", "Thank you, Doctor.",
            "I would really appreciate your advice.", "Thank you for taking the time to answer.",
            "Any advice would be helpful, thanks!"]

ANSWER_OPENINGS = ["Hello:", "Hello, ", "Hello, thank you for your question.", ""]

ANSWER_SENTENCES = [
    "Based on your description, {symptom} is most often related to {condition2}.",
    "If there are accompanying symptoms such as {symptom2}, further evaluation with {test} is recommended.",
    "It is advisable to keep a regular sleep schedule, reduce caffeine intake and avoid excessive stress.",
    "{Treatment} may help relieve the symptoms, but please follow your physician's instructions.",
    "If the symptoms persist for more than two weeks or get worse, please visit the {dept} department for a detailed examination.",
    "{Condition} usually presents with other signs, so the likelihood is low in your case.",
    "The result of the {test_bare} you mentioned does not suggest a serious problem.",
    "Tension or excessive use of the {body} can also cause similar discomfort.",
    "Please do not stop or change any medication on your own.",
    "A face-to-face examination is needed to confirm the diagnosis; an online reply can only offer general advice.",
    "Observation is reasonable for now, as long as no new symptoms appear.",
    "Keeping a simple diary of when the {symptom} occurs will help your doctor.",
]

ANSWER_CLOSINGS = ["Wishing you good health.", "Take care.",
                   "The Department of {dept} at {hospital} cares about you.",
                   "Wishing you peace and health."]

CHANGE_SENTENCES = [
    "Update: after your follow-up message, I would add that {test} can be arranged at any {dept} department.",
    "Update: if {symptom2} appears, please seek care sooner rather than later.",
    "Update: the latest guidelines still recommend {treatment} as a first step.",
    "Update: please bring your previous {test} report to your next visit.",
]

MORE_INFO_OPENERS = [
    "{Symptom} can be a concerning symptom for many people, especially when it is associated with fears of {condition}.",
    "{Topic} is one of the most common reasons people consult a specialist in {dept}, and most cases turn out to be benign.",
    "When someone experiences {symptom}, it is natural to worry about serious conditions such as {condition}.",
]

MORE_INFO_SENTENCES = [
    "However, it is essential to understand that {symptom} can arise from various causes, and not all of them indicate a severe underlying condition.",
    "{Condition} typically presents with a combination of symptoms, and a single symptom alone is rarely sufficient for the diagnosis.",
    "In many individuals, {symptom} is related to benign causes such as stress, anxiety, fatigue or dehydration.",
    "{Test} is a useful tool when the history and physical examination leave the diagnosis uncertain.",
    "Lifestyle factors such as sleep, diet, caffeine & alcohol intake play an important role.",
    "{Treatment} is often recommended as a first step, and most people notice improvement within a few weeks.",
    "It may be worthwhile to have {test} if this has not been done already.",
    "Anxiety can manifest physically, and it can heighten the awareness of normal bodily sensations.",
    "Engaging in relaxation techniques, such as mindfulness, yoga or regular physical activity, can help.",
    "Warning signs that need prompt attention include progressive weakness, high fever, severe pain or sudden changes in function.",
    "The {body} is particularly sensitive to overuse, and rest often leads to gradual recovery.",
    "{Condition2} is another possible explanation, and it is usually managed conservatively.",
    "Keeping a symptom diary, noting when the {symptom} happens and what preceded it, helps the physician find patterns.",
    "If the symptoms are mild and stable, watchful waiting for two to four weeks is a reasonable approach.",
    "People sometimes read that a value < 5% is \"abnormal\", but reference ranges differ between laboratories.",
    "Self-medication is not advisable, because some over-the-counter products interact with prescribed drugs.",
    "Follow-up visits allow the doctor to compare findings over time, which is often more informative than a single test.",
    "Reassurance from a physician after a careful examination is, for many patients, the most effective treatment.",
    "Studies have shown that the prognosis is favourable for most patients who seek timely care.",
    "It is also important to review any medications or supplements, since some of them list {symptom} as a side effect.",
]

MORE_INFO_LINKERS = ["Firstly, ", "In addition, ", "Moreover, ", "On the other hand, ",
                     "In your case, ", "Furthermore, ", "", "", ""]

MORE_INFO_CLOSERS = [
    "In summary, while {symptom} can be a symptom of {condition}, it is not definitive on its own, especially in the absence of other concerning symptoms.",
    "In conclusion, it is natural to worry about potential health issues, but it is crucial to approach your symptoms with a balanced perspective.",
    "Remember, early intervention and proper management can significantly improve your quality of life.",
]

FAQ_BLURBS = [
    "Answers from our physicians to common questions about {topic_l}.",
    "Everything readers have asked our doctors about {topic_l}, newest first.",
]
