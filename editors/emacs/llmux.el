;;; llmux.el --- Stream LLM answers from llmuxd over its Unix socket -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1"))
;; Keywords: tools, convenience
;; URL: see README.md in the llmux repository

;;; Commentary:

;; llmux.el talks to llmuxd, the local LLM streaming daemon, over its Unix
;; socket (newline-delimited JSON, protocol.md in the llmux repository).  One
;; connection per Emacs carries every request; each request streams into its
;; own place, and `llmux-abort' stops it at once (the daemon aborts the
;; upstream request).  The daemon holds the provider keys: nothing secret
;; passes through Emacs.
;;
;; Commands:
;;   M-x llmux-prompt       ask something; the answer streams into *llmux-N*
;;   M-x llmux-send-region  send the region with an instruction; the answer
;;                          streams below the region
;;   M-x llmux-abort        cancel the request at point (C-u: all requests)
;;   M-x llmux-models       list the daemon's models and routes

;;; Code:

(require 'cl-lib)
(require 'json)

(defgroup llmux nil
  "Stream answers from the llmux daemon."
  :group 'tools
  :prefix "llmux-")

(defcustom llmux-socket nil
  "The daemon's socket.
nil means $LLMUX_SOCKET, then $XDG_RUNTIME_DIR/llmux/llmux.sock."
  :type '(choice (const :tag "Default" nil) file))

(defcustom llmux-model nil
  "A model or route name, or provider/model; nil uses the daemon's default."
  :type '(choice (const :tag "Daemon default" nil) string))

(defcustom llmux-coalesce-ms 30
  "Ask the daemon to merge deltas within this many milliseconds (0: each at once)."
  :type 'integer)

(defcustom llmux-system-prompt nil
  "An optional system message sent before every prompt."
  :type '(choice (const :tag "None" nil) string))

(cl-defstruct (llmux-request (:constructor llmux-request--create))
  "One chat request and where its answer goes."
  id buffer start marker (state 'running) error (received 0) model provider on-finish)

(defvar llmux--process nil "The connection to llmuxd.")
(defvar llmux--pending nil "Pieces of a line whose newline has not arrived yet (newest first).")
(defvar llmux--running (make-hash-table :test 'equal) "Running requests by id.")
(defvar llmux--requests (make-hash-table :test 'equal) "Every request of this session by id.")
(defvar llmux--waiters (make-hash-table :test 'equal) "Callbacks waiting for a models answer, by id.")
(defvar llmux--listeners (make-hash-table :test 'equal)
  "Callbacks that get every frame of a request until its terminal one, by id.")
(defvar llmux--counter 0)

(defun llmux-socket-path ()
  "The socket path in use; signals an error when none can be found."
  (let ((explicit (getenv "LLMUX_SOCKET"))
        (runtime (getenv "XDG_RUNTIME_DIR")))
    (cond ((and llmux-socket (not (string-empty-p llmux-socket))) llmux-socket)
          ((and explicit (not (string-empty-p explicit))) explicit)
          ((and runtime (not (string-empty-p runtime))) (concat runtime "/llmux/llmux.sock"))
          (t (user-error "llmux: no socket path: set $XDG_RUNTIME_DIR or $LLMUX_SOCKET, or `llmux-socket'")))))

(defun llmux--encode (object)
  "OBJECT (an alist, vectors for arrays) as one UTF-8 JSON line."
  (let ((text (if (fboundp 'json-serialize)
                  (json-serialize object :null-object :null :false-object :false)
                (let ((json-encoding-pretty-print nil)) (json-encode object)))))
    (concat (if (multibyte-string-p text) (encode-coding-string text 'utf-8) text) "\n")))

(defun llmux--decode (line)
  "LINE (UTF-8 bytes) parsed into an alist; nil when it is not JSON."
  (let ((text (decode-coding-string line 'utf-8)))
    (condition-case nil
        (if (fboundp 'json-parse-string)
            (json-parse-string text :object-type 'alist :null-object nil :false-object nil)
          (let ((json-object-type 'alist) (json-array-type 'vector) (json-null nil) (json-false nil))
            (json-read-from-string text)))
      (error nil))))

(defun llmux--connection ()
  "The live connection to llmuxd, made (and greeted) when needed."
  (unless (process-live-p llmux--process)
    (let ((path (llmux-socket-path)))
      (setq llmux--pending nil)
      (setq llmux--process
            (condition-case err
                (make-network-process
                 :name "llmux" :family 'local :service path
                 :coding 'binary :noquery t
                 :filter #'llmux--filter :sentinel #'llmux--sentinel)
              (file-error
               (user-error "llmux: cannot connect to llmuxd at %s (%s); is it running? systemctl --user start llmux.socket"
                           path (error-message-string err)))))
      (process-send-string
       llmux--process
       (llmux--encode `((type . "hello") (protocol . [1]) (client . "emacs") (priority . "interactive")
                        ,@(when (and llmux-coalesce-ms (> llmux-coalesce-ms 0))
                            `((coalesce_ms . ,llmux-coalesce-ms))))))))
  llmux--process)

(defun llmux--send (object)
  "Send OBJECT as one frame."
  (process-send-string (llmux--connection) (llmux--encode object)))

(defun llmux--filter (_process chunk)
  "Split CHUNK into lines; a line cut by the read waits for its end."
  (let ((start 0) newline)
    (while (setq newline (string-match "\n" chunk start))
      (push (substring chunk start newline) llmux--pending)
      (let ((line (apply #'concat (nreverse llmux--pending))))
        (setq llmux--pending nil)
        (llmux--handle-line line))
      (setq start (1+ newline)))
    (when (< start (length chunk))
      (push (substring chunk start) llmux--pending))))

(defun llmux--sentinel (process event)
  "The connection PROCESS ended (EVENT): every request on it ends."
  (unless (process-live-p process)
    (when (eq process llmux--process)
      (setq llmux--process nil))
    (let ((reason (concat "the connection to llmuxd ended: " (string-trim event))))
      (maphash (lambda (_id request) (llmux--finish request 'error (format "\n[llmux error disconnected: %s]" reason)))
               (copy-hash-table llmux--running))
      (maphash (lambda (id callback)
                 (remhash id llmux--waiters)
                 (funcall callback nil reason))
               (copy-hash-table llmux--waiters)))))

(defun llmux--insert (request text)
  "Insert TEXT where REQUEST's answer goes; nil when its buffer is gone."
  (let ((buffer (llmux-request-buffer request)))
    (when (buffer-live-p buffer)
      (with-current-buffer buffer
        (let ((inhibit-read-only t)
              (marker (llmux-request-marker request)))
          (save-excursion
            (goto-char marker)
            (insert text))
          ;; Windows whose point was at the answer's end follow it.
          (dolist (window (get-buffer-window-list buffer nil t))
            (when (= (window-point window) (- marker (length text)))
              (set-window-point window marker)))))
      t)))

(defun llmux--finish (request state &optional note)
  "End REQUEST in STATE, appending NOTE to its answer."
  (remhash (llmux-request-id request) llmux--running)
  (setf (llmux-request-state request) state)
  (when note (llmux--insert request note))
  (when (llmux-request-on-finish request)
    (funcall (llmux-request-on-finish request) request)))

(defun llmux--handle-line (line)
  "Handle one LINE from the daemon."
  (let* ((frame (and (> (length line) 0) (llmux--decode line)))
         (type (alist-get 'type frame))
         (id (alist-get 'id frame))
         (waiter (and id (gethash id llmux--waiters)))
         (listener (and id (gethash id llmux--listeners)))
         (request (and id (gethash id llmux--running))))
    (cond
     ((null frame)
      (unless (string-empty-p (string-trim line))
        (message "llmux: ignored a line from llmuxd that is not JSON")))
     (listener
      (when (member type '("done" "error")) (remhash id llmux--listeners))
      (funcall listener frame))
     (waiter
      (remhash id llmux--waiters)
      (if (equal type "models")
          (funcall waiter frame nil)
        (funcall waiter nil (format "%s: %s" (alist-get 'code frame) (alist-get 'message frame)))))
     ((null request)
      (when (equal type "error")
        (message "llmux: %s: %s" (alist-get 'code frame) (alist-get 'message frame))))
     ((equal type "start")
      (setf (llmux-request-model request) (alist-get 'model frame)
            (llmux-request-provider request) (alist-get 'provider frame)))
     ((equal type "delta")
      (let ((text (alist-get 'text frame)))
        (when (and text (> (length text) 0))
          (cl-incf (llmux-request-received request) (length text))
          (unless (llmux--insert request text)
            ;; Its buffer is gone: nobody reads this answer any more.
            (llmux-cancel (llmux-request-id request))))))
     ((equal type "done")
      (if (equal (alist-get 'finish_reason frame) "cancelled")
          (llmux--finish request 'cancelled "\n[llmux: cancelled]")
        (llmux--finish request 'done)))
     ((equal type "error")
      (setf (llmux-request-error request) (alist-get 'code frame))
      (llmux--finish request 'error
                     (format "\n[llmux error %s: %s]" (alist-get 'code frame)
                             (replace-regexp-in-string "\n" " " (or (alist-get 'message frame) ""))))))))

(defun llmux--messages (prompt)
  "The messages vector for PROMPT."
  (vconcat (when llmux-system-prompt `(((role . "system") (content . ,llmux-system-prompt))))
           `(((role . "user") (content . ,prompt)))))

(cl-defun llmux-start (prompt buffer position &key model on-finish)
  "Send PROMPT; its answer streams into BUFFER at POSITION.
Returns the request.  MODEL overrides `llmux-model'; ON-FINISH is
called with the request when it ends."
  (let* ((id (format "emacs-%d" (cl-incf llmux--counter)))
         (request (llmux-request--create
                   :id id :buffer buffer :on-finish on-finish
                   :start (with-current-buffer buffer (copy-marker position nil))
                   :marker (with-current-buffer buffer (copy-marker position t))))
         (model (or model llmux-model)))
    (puthash id request llmux--running)
    (puthash id request llmux--requests)
    (condition-case err
        (llmux--send `((type . "chat") (id . ,id) ,@(when model `((model . ,model)))
                       (messages . ,(llmux--messages prompt))))
      (error (llmux--finish request 'error (format "\n[llmux error disconnected: %s]" (error-message-string err)))))
    request))

(defun llmux-cancel (id)
  "Cancel request ID; it ends with \"[llmux: cancelled]\" once the daemon confirms."
  (when (and (gethash id llmux--running) (process-live-p llmux--process))
    (llmux--send `((type . "cancel") (id . ,id)))
    t))

(defun llmux-request (id)
  "The request ID of this session (running or finished)."
  (gethash id llmux--requests))

(defun llmux-running-count ()
  "How many requests are running."
  (hash-table-count llmux--running))

(defun llmux--cancel-buffer-requests ()
  "Cancel the running requests that stream into the buffer being killed."
  (let ((buffer (current-buffer)))
    (maphash (lambda (id request)
               (when (eq (llmux-request-buffer request) buffer) (llmux-cancel id)))
             (copy-hash-table llmux--running))))

;;;###autoload
(defun llmux-prompt (prompt &optional model)
  "Send PROMPT to llmuxd; the answer streams into a new *llmux* buffer.
MODEL overrides `llmux-model'.  Returns the request."
  (interactive "sllmux prompt: ")
  (let ((buffer (generate-new-buffer "*llmux*")))
    (with-current-buffer buffer
      (when (fboundp 'markdown-mode) (ignore-errors (markdown-mode)))
      (add-hook 'kill-buffer-hook #'llmux--cancel-buffer-requests nil t))
    (when (called-interactively-p 'interactive) (display-buffer buffer))
    (llmux-start prompt buffer (with-current-buffer buffer (point-min)) :model model)))

;;;###autoload
(defun llmux-send-region (start end instruction &optional model)
  "Send the text from START to END with INSTRUCTION; the answer streams below it.
MODEL overrides `llmux-model'.  Returns the request."
  (interactive "r\nsInstruction: ")
  (let* ((selection (buffer-substring-no-properties start end))
         (prompt (if (string-empty-p instruction) selection (concat instruction "\n\n" selection)))
         (position (save-excursion
                     (goto-char end)
                     (unless (bolp) (end-of-line))
                     (insert "\n")
                     (point))))
    (add-hook 'kill-buffer-hook #'llmux--cancel-buffer-requests nil t)
    (llmux-start prompt (current-buffer) position :model model)))

(defun llmux-request-at-point ()
  "The running request whose answer holds point, or the only one in this buffer."
  (let ((here (point)) (buffer (current-buffer)) found in-buffer)
    (maphash (lambda (_id request)
               (when (eq (llmux-request-buffer request) buffer)
                 (push request in-buffer)
                 (when (and (>= here (llmux-request-start request)) (<= here (llmux-request-marker request)))
                   (setq found request))))
             llmux--running)
    (or found (and (= (length in-buffer) 1) (car in-buffer)))))

;;;###autoload
(defun llmux-abort (&optional all)
  "Cancel the request whose answer holds point.
With prefix argument ALL, cancel every request."
  (interactive "P")
  (if all
      (let ((count 0))
        (maphash (lambda (id _request) (when (llmux-cancel id) (cl-incf count)))
                 (copy-hash-table llmux--running))
        (message "llmux: cancelling %d request(s)" count))
    (let ((request (llmux-request-at-point)))
      (if request
          (llmux-cancel (llmux-request-id request))
        (message "llmux: no request at point; C-u M-x llmux-abort cancels all %d" (llmux-running-count))))))

(defun llmux-models-fetch (callback)
  "Ask llmuxd for its models; call CALLBACK with (NAMES DEFAULT) or (nil ERROR)."
  (let ((id (format "emacs-models-%d" (cl-incf llmux--counter))))
    (puthash id (lambda (frame error)
                  (if frame
                      (funcall callback (mapcar (lambda (m) (alist-get 'id m)) (alist-get 'models frame))
                               (alist-get 'default frame))
                    (funcall callback nil error)))
             llmux--waiters)
    (llmux--send `((type . "models") (id . ,id)))))

;;;###autoload
(defun llmux-models ()
  "Show the daemon's models and routes."
  (interactive)
  (llmux-models-fetch
   (lambda (names default)
     (if names
         (message "llmux models: %s (default %s)" (string-join names ", ") default)
       (message "llmux: %s" default)))))

(defun llmux-request-frames (frame callback)
  "Send FRAME (an alist with an `id'); call CALLBACK with each frame of it.
The terminal frame comes last; a failure to send is reported as an error
frame."
  (let ((id (alist-get 'id frame)))
    (puthash id callback llmux--listeners)
    (condition-case err
        (llmux--send frame)
      (error
       (remhash id llmux--listeners)
       (funcall callback `((type . "error") (id . ,id) (code . "disconnected") (message . ,(error-message-string err))))))))

(defun llmux-new-id (kind)
  "A fresh request id of KIND."
  (format "emacs-%s-%d" kind (cl-incf llmux--counter)))

(defun llmux-cancel-id (id)
  "Send a cancel for request ID, if connected."
  (when (process-live-p llmux--process)
    (llmux--send `((type . "cancel") (id . ,id)))))

(defun llmux-disconnect ()
  "Close the connection to llmuxd (the daemon cancels its running requests)."
  (interactive)
  (when (process-live-p llmux--process)
    (delete-process llmux--process)))

(provide 'llmux)
;;; llmux.el ends here
