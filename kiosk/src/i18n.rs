//! Every text the citizen sees, in Kazakh, Russian and English.
//!
//! Why a Rust-side catalogue and not Slint's bundled gettext translations: most texts on the
//! screen are not literals in `.slint` files but come from Rust (booth-core validation errors
//! by `message_key()`, printer and recorder states, decisions, statuses, categories), and the
//! language is chosen per session at run time. One table serves both: `.slint` files call the
//! pure callback `Tr.t(lang, "key")` (re-evaluated when the language property changes), and
//! Rust code calls [`t`]. A unit test fails when any key lacks any of the three languages, when
//! a `.slint` file uses a key the table lacks, or when a booth-core error key is missing.

use booth_core::Language;

/// One message: key, then Kazakh, Russian, English. `{}` marks a value filled in by [`tf`].
type Entry = (&'static str, [&'static str; 3]);

/// The catalogue.
pub static MESSAGES: &[Entry] = &[
    // Attract, language, menu
    (
        "attract-title",
        ["Бейнеөтініш", "Видеообращение", "Video appeal"],
    ),
    (
        "attract-touch",
        [
            "Бастау үшін экранды түртіңіз",
            "Коснитесь экрана, чтобы начать",
            "Touch the screen to start",
        ],
    ),
    (
        "attract-sub",
        [
            "Мемлекеттік органға бейнеөтініш жазыңыз немесе жауапты қараңыз",
            "Запишите видеообращение в государственный орган или посмотрите ответ",
            "Record a video appeal to a state agency or view an answer",
        ],
    ),
    (
        "language-title",
        ["Тілді таңдаңыз", "Выберите язык", "Choose your language"],
    ),
    (
        "menu-title",
        [
            "Не істегіңіз келеді?",
            "Что вы хотите сделать?",
            "What would you like to do?",
        ],
    ),
    (
        "menu-record",
        ["Өтініш жазу", "Записать обращение", "Record an appeal"],
    ),
    (
        "menu-record-sub",
        [
            "3 минутқа дейінгі бейнежазба",
            "Видеозапись до 3 минут",
            "A video of up to 3 minutes",
        ],
    ),
    (
        "menu-answer",
        ["Жауапты қарау", "Посмотреть ответ", "View an answer"],
    ),
    (
        "menu-answer-sub",
        [
            "Түбіртектегі құпия код бойынша",
            "По секретному коду из квитанции",
            "With the secret code from your receipt",
        ],
    ),
    ("menu-help", ["Анықтама", "Справка", "Help"]),
    (
        "record-unavailable-clock",
        [
            "Бұл терминал қазір өтініш қабылдай алмайды. Жауапты қарауға болады. Қызметкерге хабарласыңыз.",
            "Этот терминал сейчас не может принимать обращения. Ответы смотреть можно. Обратитесь к сотруднику.",
            "This booth cannot take appeals right now. You can still view answers. Please ask a member of staff.",
        ],
    ),
    (
        "record-unavailable-directory",
        [
            "Мемлекеттік органдар тізімі әлі келмеді, сондықтан өтініш қабылданбайды. Жауапты қарауға болады. Қызметкерге хабарласыңыз.",
            "Список государственных органов ещё не получен, поэтому обращения не принимаются. Ответы смотреть можно. Обратитесь к сотруднику.",
            "The list of agencies has not arrived yet, so appeals cannot be taken. You can still view answers. Please ask a member of staff.",
        ],
    ),
    (
        "receipt-date-with-answer",
        [
            "Күні жауаппен бірге хабарланады",
            "Дата будет сообщена вместе с ответом",
            "The date will come with the answer",
        ],
    ),
    // Common buttons
    ("back", ["Артқа", "Назад", "Back"]),
    ("next", ["Әрі қарай", "Далее", "Next"]),
    ("done", ["Аяқтау", "Завершить", "Finish"]),
    ("help", ["Анықтама", "Справка", "Help"]),
    ("contrast", ["Контраст", "Контраст", "Contrast"]),
    ("large-type", ["Ірі шрифт", "Крупный шрифт", "Large text"]),
    ("cancel", ["Болдырмау", "Отмена", "Cancel"]),
    // Idle
    (
        "idle-title",
        [
            "Сіз әлі осындасыз ба?",
            "Вы ещё здесь?",
            "Are you still there?",
        ],
    ),
    (
        "idle-body",
        [
            "{} секундтан кейін енгізілген деректер өшіріледі",
            "Через {} с введённые данные будут удалены",
            "Your data will be erased in {} s",
        ],
    ),
    (
        "idle-yes",
        ["Иә, жалғастырамын", "Да, продолжить", "Yes, continue"],
    ),
    // Ticket
    (
        "ticket-title",
        [
            "Қабылдау бөлмесінен алған талонның нөмірін енгізіңіз",
            "Введите номер талона, полученного в приёмной",
            "Enter the ticket number you got at reception",
        ],
    ),
    ("ticket-hint", ["6 сан", "6 цифр", "6 digits"]),
    (
        "ticket-checking",
        [
            "Талон тексерілуде…",
            "Проверяем талон…",
            "Checking the ticket…",
        ],
    ),
    (
        "ticket-six-digits",
        [
            "Талон нөмірі 6 саннан тұрады",
            "Номер талона состоит из 6 цифр",
            "A ticket number has 6 digits",
        ],
    ),
    (
        "ticket-unknown",
        [
            "Мұндай талон жоқ — сандарды тексеріңіз",
            "Такого талона нет — проверьте цифры",
            "No such ticket — check the digits",
        ],
    ),
    (
        "ticket-used",
        [
            "Бұл талон пайдаланылған. Қызметкерге жүгініңіз",
            "Этот талон уже использован. Обратитесь к сотруднику",
            "This ticket was already used. Please ask staff",
        ],
    ),
    (
        "ticket-expired",
        [
            "Талонның мерзімі өтті. Қызметкерге жүгініңіз",
            "Срок действия талона истёк. Обратитесь к сотруднику",
            "This ticket has expired. Please ask staff",
        ],
    ),
    (
        "ticket-too-many",
        [
            "Қате әрекеттер тым көп. Біраз күтіңіз",
            "Слишком много неверных попыток. Подождите",
            "Too many wrong attempts. Please wait",
        ],
    ),
    (
        "ticket-unavailable",
        [
            "Талонды тексеру мүмкін емес. Қызметкерге жүгініңіз",
            "Не удалось проверить талон. Обратитесь к сотруднику",
            "The ticket cannot be checked now. Please ask staff",
        ],
    ),
    // Consent
    (
        "consent-title",
        [
            "Келісім және ережелер",
            "Согласие и правила",
            "Consent and rules",
        ],
    ),
    (
        "consent-data",
        [
            "Мен дербес деректерімді өтінішті қарау үшін өңдеуге келісемін",
            "Я согласен(на) на обработку моих персональных данных для рассмотрения обращения",
            "I agree to the processing of my personal data to consider my appeal",
        ],
    ),
    (
        "consent-video",
        [
            "Мен бейнежазбаға түсірілуге келісемін",
            "Я согласен(на) на видеозапись",
            "I agree to be video recorded",
        ],
    ),
    (
        "consent-rules",
        [
            "Жазба 3 минуттан аспайды. Іскерлік тілде, құрметпен сөйлеңіз",
            "Запись длится не более 3 минут. Говорите в деловом стиле, уважительно",
            "A recording lasts at most 3 minutes. Please speak in a business-like, respectful way",
        ],
    ),
    (
        "consent-substance",
        [
            "Мәні жоқ өтініш қаралмайды",
            "Обращение без сути не рассматривается",
            "An appeal that states no substance is not considered",
        ],
    ),
    ("consent-agree", ["Келісемін", "Я согласен(на)", "I agree"]),
    // Applicant
    (
        "applicant-title",
        [
            "Өтініш беруші туралы мәліметтер",
            "Сведения о заявителе",
            "About you",
        ],
    ),
    (
        "applicant-individual",
        ["Жеке тұлға", "Физическое лицо", "Individual"],
    ),
    (
        "applicant-legal",
        ["Заңды тұлға", "Юридическое лицо", "Legal entity"],
    ),
    ("optional", ["міндетті емес", "необязательно", "optional"]),
    ("field-surname", ["Тегі", "Фамилия", "Surname"]),
    ("field-name", ["Аты", "Имя", "Name"]),
    (
        "field-patronymic",
        ["Әкесінің аты", "Отчество", "Patronymic"],
    ),
    ("field-iin", ["ЖСН", "ИИН", "IIN"]),
    (
        "field-address",
        ["Пошталық мекенжай", "Почтовый адрес", "Postal address"],
    ),
    (
        "field-email",
        ["Электрондық пошта", "Электронная почта", "E-mail"],
    ),
    (
        "field-entity-name",
        [
            "Ұйымның атауы",
            "Наименование организации",
            "Organisation name",
        ],
    ),
    ("field-bin", ["БСН", "БИН", "BIN"]),
    (
        "field-entity-address",
        [
            "Ұйымның пошталық мекенжайы",
            "Почтовый адрес организации",
            "Organisation's postal address",
        ],
    ),
    (
        "field-entity-email",
        [
            "Ұйымның электрондық поштасы",
            "Электронная почта организации",
            "Organisation's e-mail",
        ],
    ),
    (
        "field-complaint-agency",
        [
            "Шағым жасалатын орган немесе лауазым",
            "Орган или должность, на которые подаётся жалоба",
            "Agency or position complained about",
        ],
    ),
    (
        "field-complaint-officials",
        [
            "Лауазымды тұлғалардың тегі мен аты-жөнінің бас әріптері",
            "Фамилии и инициалы должностных лиц",
            "Surnames and initials of the officials",
        ],
    ),
    (
        "field-complaint-motives",
        [
            "Шағымның себептері",
            "Мотивы жалобы",
            "Reasons for the complaint",
        ],
    ),
    (
        "field-complaint-demands",
        ["Талаптарыңыз", "Ваши требования", "What you demand"],
    ),
    // Addressee
    (
        "addressee-title",
        [
            "Өтініш кімге жолданады?",
            "Кому адресовано обращение?",
            "Who is the appeal to?",
        ],
    ),
    (
        "addressee-search",
        ["Атауы бойынша іздеу", "Поиск по названию", "Search by name"],
    ),
    ("addressee-all", ["Барлығы", "Все", "All"]),
    (
        "addressee-none",
        ["Ештеңе табылмады", "Ничего не найдено", "Nothing found"],
    ),
    (
        "category-ministry",
        ["Министрліктер", "Министерства", "Ministries"],
    ),
    ("category-akimat", ["Әкімдіктер", "Акиматы", "Akimats"]),
    (
        "category-agency",
        [
            "Агенттіктер мен комитеттер",
            "Агентства и комитеты",
            "Agencies and committees",
        ],
    ),
    // Kind
    (
        "kind-title",
        [
            "Өтініш түрін таңдаңыз",
            "Выберите вид обращения",
            "Choose the kind of appeal",
        ],
    ),
    ("kind-proposal", ["Ұсыныс", "Предложение", "Proposal"]),
    ("kind-statement", ["Өтініш", "Заявление", "Statement"]),
    ("kind-complaint", ["Шағым", "Жалоба", "Complaint"]),
    ("kind-request", ["Сұрау салу", "Запрос", "Request"]),
    ("kind-response", ["Пікір", "Отклик", "Response"]),
    (
        "complaint-title",
        [
            "Шағым туралы мәліметтер",
            "Сведения о жалобе",
            "About the complaint",
        ],
    ),
    (
        "complaint-officials-hint",
        [
            "Бірнеше адам болса, үтір арқылы",
            "Если несколько — через запятую",
            "Separate several with commas",
        ],
    ),
    // Check
    (
        "check-title",
        [
            "Камера мен микрофонды тексеру",
            "Проверка камеры и микрофона",
            "Camera and microphone check",
        ],
    ),
    (
        "check-speak",
        [
            "Бірдеңе айтыңыз — индикатор жасылға айналуы керек",
            "Скажите что-нибудь — индикатор должен стать зелёным",
            "Say something — the meter should turn green",
        ],
    ),
    (
        "check-heard",
        [
            "Сізді жақсы естиміз",
            "Мы вас хорошо слышим",
            "We can hear you well",
        ],
    ),
    (
        "check-starting",
        [
            "Камера қосылуда…",
            "Включаем камеру…",
            "Starting the camera…",
        ],
    ),
    (
        "check-begin",
        ["Жазуды бастау", "Начать запись", "Start recording"],
    ),
    (
        "check-tips",
        [
            "Камераға қарап, анық сөйлеңіз",
            "Смотрите в камеру и говорите чётко",
            "Look at the camera and speak clearly",
        ],
    ),
    (
        "printer-paper-low",
        [
            "Принтерде қағаз аз қалды",
            "В принтере заканчивается бумага",
            "The printer is low on paper",
        ],
    ),
    (
        "printer-paper-out",
        [
            "Принтерде қағаз жоқ: түбіртек басылмайды, кодты экраннан жазып алыңыз. Қызметкер шақырылды",
            "В принтере нет бумаги: квитанция не будет напечатана, запишите код с экрана. Сотрудник вызван",
            "The printer is out of paper: no receipt will be printed, write the code down from the screen. Staff have been called",
        ],
    ),
    (
        "printer-cover-open",
        [
            "Принтердің қақпағы ашық: түбіртек басылмайды. Қызметкер шақырылды",
            "Открыта крышка принтера: квитанция не будет напечатана. Сотрудник вызван",
            "The printer cover is open: no receipt will be printed. Staff have been called",
        ],
    ),
    (
        "printer-offline",
        [
            "Принтер жұмыс істемейді: кодты экраннан жазып алыңыз",
            "Принтер не работает: запишите код с экрана",
            "The printer is not working: write the code down from the screen",
        ],
    ),
    (
        "error-camera-missing",
        [
            "Камера табылмады. Қызметкерге жүгініңіз",
            "Камера не найдена. Обратитесь к сотруднику",
            "No camera found. Please ask staff",
        ],
    ),
    (
        "error-microphone-missing",
        [
            "Микрофон табылмады. Қызметкерге жүгініңіз",
            "Микрофон не найден. Обратитесь к сотруднику",
            "No microphone found. Please ask staff",
        ],
    ),
    (
        "error-disk-full",
        [
            "Жадта орын жоқ. Жазбаңыз сақталды, қызметкер шақырылды — қайталап көріңіз",
            "Нет места в памяти. Ваша запись сохранена, сотрудник вызван — попробуйте ещё раз",
            "The booth is out of storage. Your recording is kept and staff have been called — please try again",
        ],
    ),
    (
        "error-recorder-failed",
        [
            "Жазу сәтсіз аяқталды. Қайталап көріңіз немесе қызметкерге жүгініңіз",
            "Запись не удалась. Попробуйте ещё раз или обратитесь к сотруднику",
            "Recording failed. Please try again or ask staff",
        ],
    ),
    // Countdown, recording
    (
        "countdown-title",
        [
            "Жазу басталады",
            "Запись начнётся через",
            "Recording starts in",
        ],
    ),
    ("recording-rec", ["ЖАЗЫЛУДА", "ИДЁТ ЗАПИСЬ", "RECORDING"]),
    (
        "recording-finish",
        ["Жазуды аяқтау", "Завершить запись", "Finish recording"],
    ),
    (
        "recording-warning",
        ["30 секунд қалды", "Осталось 30 секунд", "30 seconds left"],
    ),
    (
        "recording-limit",
        ["Ең көбі 3:00", "Не более 3:00", "At most 3:00"],
    ),
    // Recording: "Finish recording" is the sending (003 p.27); discarding a take
    (
        "recording-finish-sends",
        [
            "«Жазуды аяқтау» батырмасы өтінішті жібереді",
            "Кнопка «Завершить запись» отправляет обращение",
            "“Finish recording” sends your appeal",
        ],
    ),
    (
        "recording-discard",
        ["Қайта бастау", "Начать заново", "Start again"],
    ),
    (
        "discard-question",
        [
            "Бұл жазбаны өшіріп, қайта бастайсыз ба?",
            "Удалить эту запись и начать заново?",
            "Delete this recording and start again?",
        ],
    ),
    (
        "discard-explain",
        [
            "Жазба жіберілмейді және біржола жойылады.",
            "Запись не будет отправлена и будет удалена безвозвратно.",
            "The recording will not be sent and will be deleted for good.",
        ],
    ),
    ("discard-yes", ["Иә, өшіру", "Да, удалить", "Yes, delete"]),
    (
        "discard-no",
        [
            "Жоқ, жазуды жалғастыру",
            "Нет, продолжить запись",
            "No, keep recording",
        ],
    ),
    (
        "warning-silent-sent",
        [
            "Өтініш жіберілді, бірақ жазбада дауысыңыз әрең естіледі. Мәні жоқ өтініш қаралмайды — жалғасын жазуға болады",
            "Обращение отправлено, но ваш голос в записи почти не слышен. Обращение без сути не рассматривается — вы можете записать продолжение",
            "Your appeal was sent, but your voice can hardly be heard. An appeal without substance is not considered — you can record a continuation",
        ],
    ),
    // Identity from the reception journal (003 p.22)
    (
        "field-from-reception",
        [
            "тіркеу деректері бойынша",
            "по данным регистрации",
            "from reception",
        ],
    ),
    (
        "applicant-not-me",
        ["Бұл мен емеспін", "Это не я", "This is not me"],
    ),
    (
        "not-me-title",
        [
            "Тіркеу үстеліне оралыңыз",
            "Вернитесь к стойке регистрации",
            "Please return to the reception desk",
        ],
    ),
    (
        "not-me-body",
        [
            "Қызметкер деректеріңізді түзетіп, жаңа талон береді. Бұл талон енді жарамсыз.",
            "Сотрудник исправит ваши данные и выдаст новый талон. Этот талон больше не действует.",
            "A receptionist will correct your details and give you a new ticket. This ticket is no longer valid.",
        ],
    ),
    // Finishing
    (
        "finishing-title",
        [
            "Өтініш сақталуда…",
            "Сохраняем обращение…",
            "Saving your appeal…",
        ],
    ),
    (
        "finishing-body",
        [
            "Жазба шифрланып, жіберуге дайындалуда. Құрылғыны өшірмеңіз",
            "Запись шифруется и готовится к отправке. Не выключайте устройство",
            "The recording is being encrypted and queued for sending",
        ],
    ),
    ("retry", ["Қайталау", "Повторить", "Try again"]),
    (
        "error-seal",
        [
            "Жазбаны шифрлау мүмкін болмады. Жазбаңыз сақталды, қызметкерге жүгініңіз",
            "Не удалось зашифровать запись. Ваша запись сохранена, обратитесь к сотруднику",
            "The recording could not be encrypted. It is kept; please ask staff",
        ],
    ),
    (
        "error-store",
        [
            "Өтінішті сақтау мүмкін болмады. Жазбаңыз сақталды — қайталап көріңіз",
            "Не удалось сохранить обращение. Ваша запись сохранена — попробуйте ещё раз",
            "The appeal could not be saved. Your recording is kept — please try again",
        ],
    ),
    // Receipt
    (
        "receipt-title",
        [
            "Өтінішіңіз жіберілді",
            "Ваше обращение отправлено",
            "Your appeal has been sent",
        ],
    ),
    (
        "receipt-date",
        ["Жазылған күні", "Дата записи", "Recorded on"],
    ),
    (
        "receipt-number",
        [
            "Тіркеу нөмірі",
            "Регистрационный номер",
            "Registration number",
        ],
    ),
    (
        "receipt-code",
        [
            "Жауапты қарауға арналған құпия код",
            "Секретный код для просмотра ответа",
            "Secret code to view the answer",
        ],
    ),
    (
        "receipt-code-note",
        [
            "Кодты ешкімге көрсетпеңіз және сақтаңыз",
            "Никому не показывайте код и сохраните его",
            "Keep the code safe and show it to no one",
        ],
    ),
    (
        "receipt-expected",
        [
            "Жауаптың күтілетін күні",
            "Ожидаемая дата ответа",
            "Expected answer date",
        ],
    ),
    ("receipt-addressee", ["Кімге", "Кому", "To"]),
    (
        "receipt-printed",
        [
            "Түбіртек басып шығарылды",
            "Квитанция напечатана",
            "The receipt has been printed",
        ],
    ),
    (
        "receipt-printing",
        [
            "Түбіртек басылуда…",
            "Печатаем квитанцию…",
            "Printing the receipt…",
        ],
    ),
    (
        "receipt-not-printed",
        [
            "Түбіртек басылмады",
            "Квитанция не напечатана",
            "The receipt was not printed",
        ],
    ),
    (
        "receipt-print-again",
        ["Қайта басу", "Напечатать ещё раз", "Print again"],
    ),
    // Continuation, thanks
    (
        "continuation-title",
        [
            "Осы органға жалғасын жазғыңыз келе ме?",
            "Записать продолжение в тот же орган?",
            "Record a continuation to the same agency?",
        ],
    ),
    (
        "continuation-body",
        [
            "Бір жазба 3 минуттан аспайды. Жалғасы жаңа өтініш ретінде тіркеледі",
            "Одна запись — не более 3 минут. Продолжение регистрируется как новое обращение",
            "One recording lasts at most 3 minutes. A continuation is registered as a new appeal",
        ],
    ),
    (
        "continuation-yes",
        [
            "Иә, жалғасын жазу",
            "Да, записать продолжение",
            "Yes, record a continuation",
        ],
    ),
    (
        "continuation-no",
        ["Жоқ, аяқтау", "Нет, завершить", "No, finish"],
    ),
    ("thanks-title", ["Рақмет!", "Спасибо!", "Thank you!"]),
    (
        "thanks-body",
        [
            "Жауап дайын болғанда оны осы жерде немесе электрондық поштадан көре аласыз",
            "Когда ответ будет готов, его можно посмотреть здесь или в электронной почте",
            "When the answer is ready you can view it here or by e-mail",
        ],
    ),
    // Lookup
    (
        "lookup-title",
        [
            "Түбіртектегі құпия кодты енгізіңіз",
            "Введите секретный код из квитанции",
            "Enter the secret code from your receipt",
        ],
    ),
    (
        "lookup-hint",
        [
            "12 сан, немесе түбіртектегі QR-кодты камераға көрсетіңіз",
            "12 цифр, или покажите QR-код квитанции камере",
            "12 digits, or show the receipt's QR code to the camera",
        ],
    ),
    (
        "lookup-scan",
        ["QR-кодты көрсету", "Показать QR-код", "Show QR code"],
    ),
    (
        "lookup-scan-stop",
        [
            "Сканерлеуді тоқтату",
            "Остановить сканирование",
            "Stop scanning",
        ],
    ),
    (
        "lookup-scanning",
        [
            "QR-кодты камераға жақындатыңыз",
            "Поднесите QR-код к камере",
            "Hold the QR code up to the camera",
        ],
    ),
    ("lookup-searching", ["Іздеуде…", "Ищем…", "Searching…"]),
    ("lookup-find", ["Табу", "Найти", "Find"]),
    (
        "lookup-code-ok",
        ["Код дұрыс", "Код верный", "The code is valid"],
    ),
    (
        "lookup-not-found",
        [
            "Бұл кодпен өтініш жоқ — сандарды тексеріңіз",
            "Обращения с таким кодом нет — проверьте цифры",
            "No appeal with this code — check the digits",
        ],
    ),
    (
        "lookup-wait",
        [
            "Қате әрекеттер тым көп. {} секунд күтіңіз",
            "Слишком много неверных попыток. Подождите {} с",
            "Too many wrong codes. Please wait {} s",
        ],
    ),
    (
        "lookup-unavailable",
        [
            "Қазір іздеу мүмкін емес. Кейінірек қайталаңыз",
            "Сейчас поиск недоступен. Попробуйте позже",
            "Search is unavailable right now. Please try later",
        ],
    ),
    (
        "error-qr-unreadable",
        [
            "QR-кодта құпия код жоқ",
            "В QR-коде нет секретного кода",
            "This QR code holds no secret code",
        ],
    ),
    (
        "error-code-length",
        [
            "Код 12 саннан тұрады",
            "Код состоит из 12 цифр",
            "A code has 12 digits",
        ],
    ),
    (
        "error-code-digits",
        [
            "Код тек сандардан тұрады",
            "Код состоит только из цифр",
            "A code has digits only",
        ],
    ),
    (
        "error-code-check",
        [
            "Кодта қате бар — сандарды тексеріңіз",
            "В коде ошибка — проверьте цифры",
            "The code has a typo — check the digits",
        ],
    ),
    // Result
    (
        "result-title",
        ["Өтініштің мәртебесі", "Статус обращения", "Appeal status"],
    ),
    (
        "result-expected",
        [
            "Жауап күтілетін күн: {}",
            "Ожидаемая дата ответа: {}",
            "Answer expected by {}",
        ],
    ),
    ("result-answer", ["Жауап", "Ответ", "Answer"]),
    (
        "result-no-answer",
        [
            "Жауап әлі дайын емес",
            "Ответ ещё не готов",
            "No answer yet",
        ],
    ),
    (
        "result-signed",
        ["Қол қойған: {}", "Подписал: {}", "Signed by {}"],
    ),
    ("result-documents", ["Құжаттар", "Документы", "Documents"]),
    (
        "result-rate",
        ["Жауапты бағалау", "Оценить ответ", "Rate the answer"],
    ),
    (
        "status-registered",
        ["Тіркелді", "Зарегистрировано", "Registered"],
    ),
    (
        "status-delivered",
        [
            "Орталық қызметке жеткізілді",
            "Доставлено в центральную службу",
            "Delivered to the central service",
        ],
    ),
    (
        "status-forwarded",
        ["Жолданды: {}", "Направлено: {}", "Forwarded to {}"],
    ),
    (
        "status-in-review",
        ["Қаралуда", "На рассмотрении", "In review"],
    ),
    (
        "status-merged",
        [
            "{} өтінішімен біріктірілді",
            "Объединено с обращением {}",
            "Merged with appeal {}",
        ],
    ),
    (
        "status-answered",
        ["Жауап берілді: {}", "Дан ответ: {}", "Answered: {}"],
    ),
    (
        "decision-satisfied",
        ["Қанағаттандырылды", "Удовлетворено", "Satisfied"],
    ),
    ("decision-refused", ["Бас тартылды", "Отказано", "Refused"]),
    (
        "decision-explained",
        ["Түсіндірілді", "Разъяснено", "Explained"],
    ),
    (
        "decision-terminated",
        [
            "Қарау тоқтатылды",
            "Рассмотрение прекращено",
            "Consideration terminated",
        ],
    ),
    // Rating
    (
        "rating-title",
        [
            "Жауапқа қаншалықты ризасыз?",
            "Насколько вы удовлетворены ответом?",
            "How satisfied are you with the answer?",
        ],
    ),
    (
        "rating-1",
        [
            "Мүлдем риза емеспін",
            "Совсем не удовлетворён",
            "Very dissatisfied",
        ],
    ),
    (
        "rating-2",
        ["Риза емеспін", "Не удовлетворён", "Dissatisfied"],
    ),
    ("rating-3", ["Бейтарап", "Нейтрально", "Neutral"]),
    ("rating-4", ["Ризамын", "Удовлетворён", "Satisfied"]),
    (
        "rating-5",
        ["Өте ризамын", "Полностью удовлетворён", "Very satisfied"],
    ),
    (
        "rating-thanks",
        [
            "Бағаңызға рақмет",
            "Спасибо за оценку",
            "Thank you for your rating",
        ],
    ),
    // Help
    ("help-title", ["Анықтама", "Справка", "Help"]),
    (
        "help-1",
        [
            "Бейнеөтініш 3 минутқа дейін жазылады және таңдалған мемлекеттік органға жіберіледі",
            "Видеообращение длится до 3 минут и направляется в выбранный государственный орган",
            "A video appeal lasts up to 3 minutes and goes to the state agency you choose",
        ],
    ),
    (
        "help-2",
        [
            "Жазудан кейін тіркеу нөмірі мен құпия код берілген түбіртек басылады",
            "После записи печатается квитанция с регистрационным номером и секретным кодом",
            "After recording, a receipt with a registration number and a secret code is printed",
        ],
    ),
    (
        "help-3",
        [
            "Жауап 15 жұмыс күні ішінде беріледі; оны осы жерде код бойынша қарауға болады",
            "Ответ даётся в течение 15 рабочих дней; его можно посмотреть здесь по коду",
            "The answer comes within 15 working days; view it here with your code",
        ],
    ),
    (
        "help-4",
        [
            "Көмек керек болса, зал қызметкеріне жүгініңіз",
            "Если нужна помощь, обратитесь к сотруднику зала",
            "If you need help, please ask a member of staff",
        ],
    ),
    // Keyboard
    ("kbd-space", ["Бос орын", "Пробел", "Space"]),
    ("kbd-backspace", ["Өшіру", "Стереть", "Delete"]),
    ("kbd-shift", ["Бас әріп", "Заглавные", "Shift"]),
    ("kbd-enter", ["Келесі", "Ввод", "Enter"]),
    ("kbd-layout-kk", ["ҚАЗ", "КАЗ", "KAZ"]),
    ("kbd-layout-ru", ["ОРЫС", "РУС", "RUS"]),
    ("kbd-layout-en", ["LAT", "LAT", "LAT"]),
    ("kbd-layout-digits", ["123", "123", "123"]),
    // Service
    (
        "service-pin-title",
        [
            "Техникалық қызмет: PIN-код",
            "Сервисный режим: PIN-код",
            "Service mode: PIN",
        ],
    ),
    (
        "service-pin-wrong",
        ["PIN-код қате", "Неверный PIN-код", "Wrong PIN"],
    ),
    (
        "service-title",
        ["Техникалық қызмет", "Сервисный режим", "Service mode"],
    ),
    (
        "service-print-test",
        ["Сынақ басу", "Тестовая печать", "Print test page"],
    ),
    (
        "service-reprint",
        [
            "Соңғы түбіртекті қайта басу",
            "Повторить последнюю квитанцию",
            "Reprint last receipt",
        ],
    ),
    ("service-refresh", ["Жаңарту", "Обновить", "Refresh"]),
    ("service-exit", ["Шығу", "Выход", "Exit"]),
    // booth-core validation errors (FieldError, IdentError)
    (
        "error-field-required",
        [
            "Бұл өрісті толтырыңыз",
            "Заполните это поле",
            "This field is required",
        ],
    ),
    (
        "error-field-too-short",
        ["Тым қысқа", "Слишком коротко", "Too short"],
    ),
    (
        "error-field-too-long",
        ["Тым ұзын", "Слишком длинно", "Too long"],
    ),
    (
        "error-name-char",
        [
            "Тек әріптер, дефис, апостроф және бос орын",
            "Только буквы, дефис, апостроф и пробел",
            "Letters, hyphen, apostrophe and space only",
        ],
    ),
    (
        "error-name-mixed",
        [
            "Бір алфавитпен жазыңыз: кирилл немесе латын",
            "Пишите одним алфавитом: кириллица или латиница",
            "Use one alphabet: Cyrillic or Latin",
        ],
    ),
    (
        "error-email-shape",
        [
            "Электрондық пошта name@example.kz сияқты болады",
            "Адрес почты выглядит как name@example.kz",
            "An e-mail address looks like name@example.kz",
        ],
    ),
    (
        "error-email-domain",
        [
            "@ белгісінен кейін mail.kz сияқты домен болуы керек",
            "После @ должен быть домен, например mail.kz",
            "After @ comes a domain such as mail.kz",
        ],
    ),
    (
        "error-field-unprintable",
        [
            "Мәтінде басып шығаруға болмайтын таңбалар бар",
            "В тексте есть непечатаемые символы",
            "The text has characters that cannot be printed",
        ],
    ),
    (
        "error-ident-empty",
        ["Нөмірді енгізіңіз", "Введите номер", "Enter the number"],
    ),
    (
        "error-ident-length",
        [
            "Нөмір 12 саннан тұрады",
            "Номер состоит из 12 цифр",
            "The number has 12 digits",
        ],
    ),
    (
        "error-ident-digits",
        ["Тек сандар", "Только цифры", "Digits only"],
    ),
    (
        "error-ident-date",
        [
            "Нөмірдегі күн дұрыс емес",
            "Неверная дата в номере",
            "The date in the number is wrong",
        ],
    ),
    (
        "error-iin-century",
        [
            "ЖСН-нің 7-ші саны дұрыс емес",
            "Неверная 7-я цифра ИИН",
            "The 7th digit of the IIN is wrong",
        ],
    ),
    (
        "error-bin-type",
        [
            "БСН-дегі ұйым түрі дұрыс емес",
            "Неверный тип организации в БИН",
            "The entity type in the BIN is wrong",
        ],
    ),
    (
        "error-ident-check",
        [
            "Бақылау саны сәйкес емес — сандарды тексеріңіз",
            "Контрольная цифра не сходится — проверьте цифры",
            "The check digit does not match — check the digits",
        ],
    ),
];

fn index(lang: Language) -> usize {
    match lang {
        Language::Kk => 0,
        Language::Ru => 1,
        Language::En => 2,
    }
}

/// The message `key` in `lang`; an unknown key is returned as it is (and logged), so a
/// missing translation is visible rather than blank.
pub fn t(lang: Language, key: &str) -> String {
    match MESSAGES.iter().find(|(k, _)| *k == key) {
        Some((_, m)) => m[index(lang)].to_owned(),
        None => {
            tracing::warn!(key, "missing message");
            key.to_owned()
        }
    }
}

/// [`t`] with each `{}` replaced by the next argument.
pub fn tf(lang: Language, key: &str, args: &[&str]) -> String {
    let mut out = t(lang, key);
    for a in args {
        if let Some(i) = out.find("{}") {
            out.replace_range(i..i + 2, a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_message_has_all_three_languages_and_no_duplicate_keys() {
        let mut seen = BTreeSet::new();
        for (k, m) in MESSAGES {
            assert!(seen.insert(*k), "duplicate key {k}");
            for (i, s) in m.iter().enumerate() {
                assert!(
                    !s.trim().is_empty(),
                    "{k} has no {} text",
                    ["kk", "ru", "en"][i]
                );
            }
            let holes: Vec<usize> = m.iter().map(|s| s.matches("{}").count()).collect();
            assert!(
                holes.iter().all(|h| *h == holes[0]),
                "{k}: placeholders differ between languages"
            );
        }
    }

    #[test]
    fn kazakh_texts_are_not_copies_of_english() {
        let same: Vec<&str> = MESSAGES
            .iter()
            .filter(|(k, m)| m[0] == m[2] && !k.starts_with("kbd-layout"))
            .map(|(k, _)| *k)
            .collect();
        assert!(same.is_empty(), "untranslated: {same:?}");
    }

    fn keys_in_slint() -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut keys = BTreeSet::new();
        for e in std::fs::read_dir(&dir).expect("ui dir") {
            let p = e.expect("entry").path();
            if p.extension().and_then(|x| x.to_str()) != Some("slint") {
                continue;
            }
            let text = std::fs::read_to_string(&p).expect("read slint");
            // Every `tr("key")` call of the `.slint` files.
            for part in text.split("tr(\"").skip(1) {
                if let Some(end) = part.find('"') {
                    let key = &part[..end];
                    if let Some(prefix) = key.strip_suffix('-') {
                        // A key built at run time (`tr("rating-" + r)`): its known suffixes.
                        assert_eq!(
                            prefix,
                            "rating",
                            "unknown dynamic key {key} in {}",
                            p.display()
                        );
                        keys.extend((1..=5).map(|r| format!("rating-{r}")));
                    } else {
                        keys.insert(key.to_owned());
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_used_by_the_screens_is_translated() {
        let keys = keys_in_slint();
        assert!(
            keys.len() > 50,
            "found only {} keys in ui/*.slint",
            keys.len()
        );
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !MESSAGES.iter().any(|(m, _)| m == k))
            .collect();
        assert!(missing.is_empty(), "keys without translation: {missing:?}");
    }

    #[test]
    fn every_booth_core_error_and_flow_key_is_translated() {
        use booth_core::code::CodeError;
        use booth_core::ident::IdentError;
        use booth_core::validate::FieldError;

        use crate::flow::{CommitError, FieldId, PrinterState, RecorderError, TicketError};
        let mut keys: Vec<String> = Vec::new();
        for e in [
            FieldError::Required,
            FieldError::TooShort { min: 1 },
            FieldError::TooLong { max: 1 },
            FieldError::BadNameChar('1'),
            FieldError::MixedScripts,
            FieldError::EmailShape,
            FieldError::EmailDomain,
            FieldError::Unprintable,
        ] {
            keys.push(e.message_key().into());
        }
        for e in [
            IdentError::Empty,
            IdentError::WrongLength(1),
            IdentError::NotDigits,
            IdentError::BadDate,
            IdentError::BadCenturyDigit,
            IdentError::BadEntityType,
            IdentError::BadCheckDigit,
        ] {
            keys.push(e.message_key().into());
        }
        for e in [
            CodeError::WrongLength(1),
            CodeError::NotDigits,
            CodeError::BadCheckDigit,
        ] {
            keys.push(e.message_key().into());
        }
        for e in [
            TicketError::Unknown,
            TicketError::Used,
            TicketError::Expired,
            TicketError::TooManyAttempts,
            TicketError::Unavailable,
        ] {
            keys.push(e.message_key().into());
        }
        for e in [
            RecorderError::CameraMissing,
            RecorderError::MicrophoneMissing,
            RecorderError::DiskFull,
            RecorderError::Failed,
        ] {
            keys.push(e.message_key().into());
        }
        for e in [CommitError::DiskFull, CommitError::Seal, CommitError::Store] {
            keys.push(e.message_key().into());
        }
        for p in [
            PrinterState::PaperLow,
            PrinterState::PaperOut,
            PrinterState::CoverOpen,
            PrinterState::Offline,
        ] {
            keys.extend(p.warning_key().map(str::to_owned));
        }
        for f in FieldId::INDIVIDUAL
            .into_iter()
            .chain(FieldId::LEGAL)
            .chain(FieldId::COMPLAINT)
        {
            keys.push(f.label_key());
        }
        for k in booth_core::AppealKind::ALL {
            keys.push(format!("kind-{}", k.as_str()));
        }
        for d in booth_core::DecisionKind::ALL {
            keys.push(format!("decision-{}", d.as_str()));
        }
        for a in crate::directory::demo_directory() {
            keys.push(crate::directory::category_key(&a.category));
        }
        for k in [
            "warning-silent-sent",
            "lookup-not-found",
            "lookup-wait",
            "lookup-unavailable",
            "error-qr-unreadable",
            "ticket-six-digits",
        ] {
            keys.push(k.into());
        }
        keys.extend(crate::view::STATUS_KEYS.iter().map(|s| s.to_string()));
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !MESSAGES.iter().any(|(m, _)| m == k))
            .collect();
        assert!(missing.is_empty(), "keys without translation: {missing:?}");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            tf(Language::En, "lookup-wait", &["10"]),
            "Too many wrong codes. Please wait 10 s"
        );
        assert_eq!(t(Language::Kk, "no-such-key"), "no-such-key");
    }
}
