;;; llmux-test.el --- ERT tests of editors/emacs/llmux.el against a running llmuxd -*- lexical-binding: t; -*-

;; EditorClientTests starts llmuxd with the mock upstream, sets $LLMUX_SOCKET and runs:
;;   emacs --batch -Q -L editors/emacs -l Tests/editors/llmux-test.el -f ert-run-tests-batch-and-exit
;; Models (set by the Swift test on the mock): mock/default echoes the prompt at once,
;; mock/slow-echo echoes it word by word 40 ms apart, mock/endless streams "0000",
;; "0001", ... every 10 ms for 30 s, mock/huge sends one delta of 200,000 "x".

;;; Code:

(require 'ert)
(require 'llmux)

(defun llmux-test--wait (predicate &optional seconds)
  "Process llmuxd's output until PREDICATE holds or SECONDS (default 10) pass."
  (let ((deadline (+ (float-time) (or seconds 10))))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output llmux--process 0.02))
    (funcall predicate)))

(defun llmux-test--finished (request &optional seconds)
  (llmux-test--wait (lambda () (not (eq (llmux-request-state request) 'running))) seconds))

(defun llmux-test--text (request)
  (with-current-buffer (llmux-request-buffer request) (buffer-string)))

(ert-deftest llmux-prompt-streams-into-a-buffer ()
  (let ((request (llmux-prompt "hello from emacs")))
    (should (llmux-test--finished request))
    (should (eq (llmux-request-state request) 'done))
    (should (equal (llmux-test--text request) "echo: hello from emacs"))
    (should (equal (llmux-request-provider request) "mock"))))

(ert-deftest llmux-abort-stops-the-stream-and-says-so ()
  (let ((request (llmux-prompt "count" "mock/endless")))
    (should (llmux-test--wait (lambda () (>= (llmux-request-received request) 40))))
    (with-current-buffer (llmux-request-buffer request)
      (goto-char (point-max))
      (llmux-abort))
    (should (llmux-test--finished request 5))
    (should (eq (llmux-request-state request) 'cancelled))
    (let ((text (llmux-test--text request)))
      (should (string-suffix-p "\n[llmux: cancelled]" text))
      (should (< (length text) (* 3000 4)))
      ;; Nothing arrives after the cancel.
      (accept-process-output llmux--process 0.2)
      (should (equal (llmux-test--text request) text)))))

(ert-deftest llmux-concurrent-requests-land-in-their-own-buffers ()
  (let ((a (llmux-prompt "alpha one two three four" "mock/slow-echo"))
        (b (llmux-prompt "beta five six seven eight" "mock/slow-echo")))
    (should (= (llmux-running-count) 2))
    (should (llmux-test--finished a))
    (should (llmux-test--finished b))
    (should-not (eq (llmux-request-buffer a) (llmux-request-buffer b)))
    (should (equal (llmux-test--text a) "echo: alpha one two three four"))
    (should (equal (llmux-test--text b) "echo: beta five six seven eight"))))

(ert-deftest llmux-send-region-answers-below-the-region ()
  (with-temp-buffer
    (insert "line one\nline two\nline three\n")
    (let* ((end (save-excursion (goto-char (point-min)) (forward-line 2) (point)))
           (request (llmux-send-region (point-min) (1- end) "Summarize")))
      (should (llmux-test--finished request))
      (should (equal (buffer-string)
                     "line one\nline two\necho: Summarize\n\nline one\nline two\nline three\n")))))

(ert-deftest llmux-partial-lines-are-joined ()
  ;; One 200,000-byte delta spans many reads of the socket.
  (let ((request (llmux-prompt "big" "mock/huge")))
    (should (llmux-test--finished request))
    (let ((text (llmux-test--text request)))
      (should (= (length text) 200000))
      (should-not (string-match-p "[^x]" text)))))

(ert-deftest llmux-models-lists-the-configured-models ()
  (let (names)
    (llmux-models-fetch (lambda (list _default) (setq names (or list 'failed))))
    (should (llmux-test--wait (lambda () names)))
    (should (member "fast" names))))

(ert-deftest llmux-killing-the-buffer-cancels-its-request ()
  (let ((request (llmux-prompt "count" "mock/endless")))
    (should (llmux-test--wait (lambda () (> (llmux-request-received request) 0))))
    (kill-buffer (llmux-request-buffer request))
    (should (llmux-test--finished request 5))
    (should (eq (llmux-request-state request) 'cancelled))))

;;; llmux-test.el ends here
