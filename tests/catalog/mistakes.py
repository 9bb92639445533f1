"""Plausible learner mistakes: each must lose the points of its function, and only those.

``expect_hint`` (optional) is a phrase the grader's message for the mistake must contain: it pins the
specific feedback a learner gets, so that a change to the checks cannot quietly make it generic.
"""

from . import DERIVATIVES, LOGISTIC, NUMPY, Entry

MISTAKES = [
    # ---------------------------------------------------------------- 01 numpy and vectorization
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/sign-of-exponent", '''
def basic_sigmoid(x):
    s = 1 / (1 + math.exp(x))
    return s
''', expect_hint="sigmoid(-x)"),
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/precedence", '''
def basic_sigmoid(x):
    s = 1 / 1 + math.exp(-x)
    return s
''', expect_hint="operator precedence"),
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/rounded", '''
def basic_sigmoid(x):
    s = 1 / (1 + math.exp(-x))
    return round(s, 2)
''', expect_hint="rounded"),

    Entry(NUMPY, "sigmoid", "sigmoid/math-exp-on-array", '''
def sigmoid(x):
    s = 1 / (1 + math.exp(-x))
    return s
''', expect_hint="TypeError"),
    Entry(NUMPY, "sigmoid", "sigmoid/sign-of-exponent", '''
def sigmoid(x):
    s = 1 / (1 + np.exp(x))
    return s
''', expect_hint="sigmoid(-x)"),
    Entry(NUMPY, "sigmoid", "sigmoid/list-comprehension", '''
def sigmoid(x):
    s = [1 / (1 + math.exp(-value)) for value in x]
    return s
''', expect_hint="np.array"),

    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/x-instead-of-s", '''
def sigmoid_derivative(x):
    ds = x * (1 - x)
    return ds
''', expect_hint="compute s = sigmoid(x) first"),
    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/no-return", '''
def sigmoid_derivative(x):
    s = sigmoid(x)
    ds = s * (1 - s)
''', expect_hint="return"),
    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/precedence", '''
def sigmoid_derivative(x):
    s = sigmoid(x)
    ds = s * 1 - s
    return ds
''', expect_hint="parentheses"),

    Entry(NUMPY, "image2vector", "image2vector/flat", '''
def image2vector(image):
    v = image.reshape(-1)
    return v
''', expect_hint="column vector"),
    Entry(NUMPY, "image2vector", "image2vector/row", '''
def image2vector(image):
    v = image.reshape(1, -1)
    return v
''', expect_hint="row"),
    Entry(NUMPY, "image2vector", "image2vector/transposed-first", '''
def image2vector(image):
    v = image.T.reshape(-1, 1)
    return v
''', expect_hint="without transposing it"),

    Entry(NUMPY, "normalize_rows", "normalize_rows/axis-0", '''
def normalize_rows(x):
    x_norm = np.linalg.norm(x, axis=0, keepdims=True)
    x = x / x_norm
    return x
''', expect_hint="axis=1"),
    Entry(NUMPY, "normalize_rows", "normalize_rows/no-square-root", '''
def normalize_rows(x):
    x_norm = np.sum(x ** 2, axis=1, keepdims=True)
    x = x / x_norm
    return x
''', expect_hint="squared norm"),
    Entry(NUMPY, "normalize_rows", "normalize_rows/in-place-on-integers", '''
def normalize_rows(x):
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x
''', expect_hint="cannot cast"),

    Entry(NUMPY, "softmax", "softmax/axis-0", '''
def softmax(x):
    x_exp = np.exp(x)
    x_sum = np.sum(x_exp, axis=0, keepdims=True)
    s = x_exp / x_sum
    return s
''', expect_hint="axis=1"),
    Entry(NUMPY, "softmax", "softmax/no-keepdims", '''
def softmax(x):
    x_exp = np.exp(x)
    x_sum = np.sum(x_exp, axis=1)
    s = x_exp / x_sum
    return s
''', expect_hint="keepdims=True"),
    Entry(NUMPY, "softmax", "softmax/one-sum-for-all", '''
def softmax(x):
    x_exp = np.exp(x)
    s = x_exp / np.sum(x_exp)
    return s
''', expect_hint="one sum per row"),

    Entry(NUMPY, "L1", "L1/mean", '''
def L1(yhat, y):
    loss = np.mean(np.abs(y - yhat))
    return loss
''', expect_hint="mean"),
    Entry(NUMPY, "L1", "L1/no-absolute-value", '''
def L1(yhat, y):
    loss = np.sum(y - yhat)
    return loss
''', expect_hint="absolute value"),
    Entry(NUMPY, "L1", "L1/no-sum", '''
def L1(yhat, y):
    loss = np.abs(y - yhat)
    return loss
''', expect_hint="one number"),

    Entry(NUMPY, "L2", "L2/square-root", '''
def L2(yhat, y):
    loss = np.linalg.norm(y - yhat)
    return loss
''', expect_hint="square root"),
    Entry(NUMPY, "L2", "L2/absolute-instead-of-square", '''
def L2(yhat, y):
    loss = np.sum(np.abs(y - yhat))
    return loss
''', expect_hint="L1 loss"),
    Entry(NUMPY, "L2", "L2/square-of-the-sum", '''
def L2(yhat, y):
    loss = np.sum(y - yhat) ** 2
    return loss
''', expect_hint="square each difference"),

    # ---------------------------------------------------------------- 02 derivatives and gradient descent
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/always-forward", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    slope = (f(a + eps) - f(a)) / eps
    return slope
''', expect_hint="forward difference"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/ignores-method", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    slope = (f(a + eps) - f(a - eps)) / (2 * eps)
    return slope
''', expect_hint="method argument"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/no-error-for-an-unknown-method", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    if method == "forward":
        return (f(a + eps) - f(a)) / eps
    return (f(a + eps) - f(a - eps)) / (2 * eps)
''', expect_hint="must raise ValueError"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/assert-instead-of-valueerror", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    assert method in ("centred", "forward"), "unknown method"
    if method == "forward":
        return (f(a + eps) - f(a)) / eps
    return (f(a + eps) - f(a - eps)) / (2 * eps)
''', expect_hint="but it raised AssertionError"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/precedence", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    if method == "centred":
        slope = (f(a + eps) - f(a - eps)) / 2 * eps
    elif method == "forward":
        slope = (f(a + eps) - f(a)) / eps
    else:
        raise ValueError(method)
    return slope
''', expect_hint="operator precedence"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/fixed-step", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    h = 1e-4
    if method == "centred":
        slope = (f(a + h) - f(a - h)) / (2 * h)
    elif method == "forward":
        slope = (f(a + h) - f(a)) / h
    else:
        raise ValueError(method)
    return slope
''', expect_hint="use the eps"),

    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/plus-sign", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    xs = [x]
    for _ in range(num_iterations):
        x = x + learning_rate * df(x)
        xs.append(x)
    return xs
''', expect_hint="uphill"),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/only-last-iterate", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    for _ in range(num_iterations):
        x = x - learning_rate * df(x)
    return x
''', expect_hint="not only the last"),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/one-update-short", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    xs = [x]
    for _ in range(num_iterations - 1):
        x = x - learning_rate * df(x)
        xs.append(x)
    return xs
''', expect_hint="one update short"),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/missing-x0", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    xs = []
    for _ in range(num_iterations):
        x = x - learning_rate * df(x)
        xs.append(x)
    return xs
''', expect_hint="missing x0"),

    # ---------------------------------------------------------------- 03 logistic regression
    Entry(LOGISTIC, "sigmoid", "sigmoid/sign-of-exponent", '''
def sigmoid(z):
    s = 1 / (1 + np.exp(z))
    return s
''', expect_hint="sigmoid(-z)"),
    Entry(LOGISTIC, "sigmoid", "sigmoid/precedence", '''
def sigmoid(z):
    s = 1 / 1 + np.exp(-z)
    return s
''', expect_hint="operator precedence"),
    Entry(LOGISTIC, "sigmoid", "sigmoid/math-exp-on-array", '''
def sigmoid(z):
    import math
    s = 1 / (1 + math.exp(-z))
    return s
''', expect_hint="TypeError"),

    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/flat-w", '''
def initialize_with_zeros(dim):
    w = np.zeros(dim)
    b = 0.0
    return w, b
''', expect_hint="column vector"),
    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/b-as-array", '''
def initialize_with_zeros(dim):
    w = np.zeros((dim, 1))
    b = np.zeros((1, 1))
    return w, b
''', expect_hint="single number"),
    # integer zeros look right, but optimize's w -= learning_rate * dw then cannot store the fractions:
    # the learner's model would stop with a casting error in a function that is not the one to fix
    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/integer-zeros", '''
def initialize_with_zeros(dim):
    w = np.zeros((dim, 1), dtype=int)
    b = 0
    return w, b
''', expect_hint="must hold floats"),
    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/ones", '''
def initialize_with_zeros(dim):
    w = np.ones((dim, 1))
    b = 0.0
    return w, b
''', expect_hint="np.zeros"),
    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/b-then-w", '''
def initialize_with_zeros(dim):
    w = np.zeros((dim, 1))
    b = 0.0
    return b, w
''', expect_hint="order"),

    Entry(LOGISTIC, "propagate", "propagate/missing-1-over-m", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T)
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="divide by m"),
    Entry(LOGISTIC, "propagate", "propagate/m-from-rows", '''
def propagate(w, b, X, Y):
    m = X.shape[0]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="X.shape[1]"),
    Entry(LOGISTIC, "propagate", "propagate/forgets-b", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X))
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="+ b"),
    Entry(LOGISTIC, "propagate", "propagate/dot-w-not-transposed", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="not aligned"),
    Entry(LOGISTIC, "propagate", "propagate/cost-sign", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="cost has the wrong sign"),

    Entry(LOGISTIC, "optimize", "optimize/cost-every-iteration", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
        costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="every 100 iterations"),
    Entry(LOGISTIC, "optimize", "optimize/gradients-computed-once", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    grads, cost = propagate(w, b, X, Y)
    dw = grads["dw"]
    db = grads["db"]
    for i in range(num_iterations):
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="recompute the gradients"),
    Entry(LOGISTIC, "optimize", "optimize/ignores-learning-rate", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - dw
        b = b - db
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="learning_rate"),
    Entry(LOGISTIC, "optimize", "optimize/loop-starts-at-1", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(1, num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="range(num_iterations)"),

    Entry(LOGISTIC, "predict", "predict/probabilities", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    Y_prediction = A
    return Y_prediction
''', expect_hint="convert probabilities to labels"),
    Entry(LOGISTIC, "predict", "predict/flipped-threshold", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    Y_prediction = (A < 0.5).astype(float)
    return Y_prediction
''', expect_hint="flipped"),
    Entry(LOGISTIC, "predict", "predict/forgets-b", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X))
    Y_prediction = (A > 0.5).astype(float)
    return Y_prediction
''', expect_hint="+ b"),
    Entry(LOGISTIC, "predict", "predict/flat-labels", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    Y_prediction = np.zeros(m)
    for i in range(m):
        Y_prediction[i] = 1 if A[0, i] > 0.5 else 0
    return Y_prediction
''', expect_hint="row vector"),
    Entry(LOGISTIC, "predict", "predict/loop-over-rows", '''
def predict(w, b, X):
    m = X.shape[1]
    Y_prediction = np.zeros((1, m))
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    for i in range(A.shape[0]):
        Y_prediction[0, i] = 1 if A[0, i] > 0.5 else 0
    return Y_prediction
''', expect_hint="A.shape[1]"),

    Entry(LOGISTIC, "model", "model/trains-on-test-set", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_test, Y_test, num_iterations, learning_rate, print_cost)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="trained on the test set"),
    Entry(LOGISTIC, "model", "model/learning-rate-not-passed", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="learning_rate"),
    Entry(LOGISTIC, "model", "model/num-iterations-not-passed", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, learning_rate=learning_rate)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="num_iterations"),
    Entry(LOGISTIC, "model", "model/train-predictions-from-test-set", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_test)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="predict on X_train"),
    Entry(LOGISTIC, "model", "model/predicts-with-initial-w", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint='params["w"]'),

    # ---------------------------------------------------------------- more 01 numpy and vectorization
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/exp-only", '''
def basic_sigmoid(x):
    s = math.exp(-x)
    return s
''', expect_hint="this is exp(-x)"),
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/tanh-shaped", '''
def basic_sigmoid(x):
    s = (1 - math.exp(-x)) / (1 + math.exp(-x))
    return s
''', expect_hint="tanh"),

    Entry(NUMPY, "sigmoid", "sigmoid/precedence", '''
def sigmoid(x):
    s = 1 / 1 + np.exp(-x)
    return s
''', expect_hint="operator precedence"),
    Entry(NUMPY, "sigmoid", "sigmoid/tanh-shaped", '''
def sigmoid(x):
    e = np.exp(-x)
    s = (1 - e) / (1 + e)
    return s
''', expect_hint="tanh"),

    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/sigmoid-itself", '''
def sigmoid_derivative(x):
    s = sigmoid(x)
    return s
''', expect_hint="sigmoid(x) itself"),
    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/one-minus-s", '''
def sigmoid_derivative(x):
    s = sigmoid(x)
    ds = 1 - s
    return ds
''', expect_hint="this is 1 - s"),

    Entry(NUMPY, "image2vector", "image2vector/fortran-order", '''
def image2vector(image):
    v = image.reshape(-1, 1, order="F")
    return v
''', expect_hint="wrong order"),
    Entry(NUMPY, "image2vector", "image2vector/sizes-of-the-example", '''
def image2vector(image):
    v = image.reshape(18, 1)
    return v
''', expect_hint="fixed number"),
    Entry(NUMPY, "image2vector", "image2vector/depth-left-out", '''
def image2vector(image):
    v = image.reshape(image.shape[0] * image.shape[1], 1)
    return v
''', expect_hint="read the sizes"),

    Entry(NUMPY, "normalize_rows", "normalize_rows/no-keepdims", '''
def normalize_rows(x):
    x_norm = np.linalg.norm(x, axis=1)
    x = x / x_norm
    return x
''', expect_hint="keepdims=True"),
    Entry(NUMPY, "normalize_rows", "normalize_rows/divided-by-row-sums", '''
def normalize_rows(x):
    x_norm = np.sum(x, axis=1, keepdims=True)
    x = x / x_norm
    return x
''', expect_hint="divided by its sum"),
    Entry(NUMPY, "normalize_rows", "normalize_rows/one-norm-for-the-matrix", '''
def normalize_rows(x):
    x = x / np.linalg.norm(x)
    return x
''', expect_hint="one norm per row"),

    Entry(NUMPY, "softmax", "softmax/exp-only", '''
def softmax(x):
    x_exp = np.exp(x)
    return x_exp
''', expect_hint="only np.exp(x)"),
    Entry(NUMPY, "softmax", "softmax/no-exp", '''
def softmax(x):
    s = x / np.sum(x, axis=1, keepdims=True)
    return s
''', expect_hint="exponential first"),

    Entry(NUMPY, "L1", "L1/squares", '''
def L1(yhat, y):
    loss = np.sum((y - yhat) ** 2)
    return loss
''', expect_hint="L2 loss"),
    Entry(NUMPY, "L2", "L2/mean", '''
def L2(yhat, y):
    loss = np.mean((y - yhat) ** 2)
    return loss
''', expect_hint="mean of the squares"),
    Entry(NUMPY, "L2", "L2/no-square", '''
def L2(yhat, y):
    loss = np.sum(y - yhat)
    return loss
''', expect_hint="square each difference"),

    # ---------------------------------------------------------------- more 02 derivatives and gradient descent
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/backward-for-forward", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    if method == "centred":
        return (f(a + eps) - f(a - eps)) / (2 * eps)
    if method == "forward":
        return (f(a) - f(a - eps)) / eps
    raise ValueError(method)
''', expect_hint="backward difference"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/centred-over-eps", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    if method == "centred":
        return (f(a + eps) - f(a - eps)) / eps
    if method == "forward":
        return (f(a + eps) - f(a)) / eps
    raise ValueError(method)
''', expect_hint="twice too large"),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/heights-swapped", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    if method == "centred":
        return (f(a - eps) - f(a + eps)) / (2 * eps)
    if method == "forward":
        return (f(a) - f(a + eps)) / eps
    raise ValueError(method)
''', expect_hint="wrong sign"),

    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/ignores-learning-rate", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    xs = [x]
    for _ in range(num_iterations):
        x = x - df(x)
        xs.append(x)
    return xs
''', expect_hint="ignores the learning rate"),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/slope-at-x0", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    xs = [x]
    slope = df(x0)
    for _ in range(num_iterations):
        x = x - learning_rate * slope
        xs.append(x)
    return xs
''', expect_hint="always taken at x0"),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/one-update-too-many", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    x = x0
    xs = [x]
    for _ in range(num_iterations + 1):
        x = x - learning_rate * df(x)
        xs.append(x)
    return xs
''', expect_hint="one update too many"),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/x-never-updated", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    xs = [x0]
    for _ in range(num_iterations):
        x = x0 - learning_rate * df(x0)
        xs.append(x0)
    return xs
''', expect_hint="x never changes"),

    # ---------------------------------------------------------------- more 03 logistic regression
    Entry(LOGISTIC, "sigmoid", "sigmoid/tanh-shaped", '''
def sigmoid(z):
    s = (1 - np.exp(-z)) / (1 + np.exp(-z))
    return s
''', expect_hint="tanh"),
    Entry(LOGISTIC, "sigmoid", "sigmoid/exp-only", '''
def sigmoid(z):
    s = np.exp(-z)
    return s
''', expect_hint="this is exp(-z)"),

    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/row-w", '''
def initialize_with_zeros(dim):
    w = np.zeros((1, dim))
    b = 0.0
    return w, b
''', expect_hint="transpose"),
    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/shape-as-two-arguments", '''
def initialize_with_zeros(dim):
    w = np.zeros(dim, 1)
    b = 0.0
    return w, b
''', expect_hint="one tuple"),

    Entry(LOGISTIC, "propagate", "propagate/log-terms-swapped", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(1 - A) + (1 - Y) * np.log(A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="log terms are swapped"),
    Entry(LOGISTIC, "propagate", "propagate/cost-with-one-log-term", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="missing a term"),
    Entry(LOGISTIC, "propagate", "propagate/dw-without-transpose", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, A - Y) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="transpose"),
    Entry(LOGISTIC, "propagate", "propagate/cost-not-averaged", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="times too large"),
    Entry(LOGISTIC, "propagate", "propagate/cost-as-1x1-array", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -(np.dot(Y, np.log(A).T) + np.dot(1 - Y, np.log(1 - A).T)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    return {"dw": dw, "db": db}, cost
''', expect_hint="single number"),
    Entry(LOGISTIC, "propagate", "propagate/y-minus-a", '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dz = Y - A
    dw = np.dot(X, dz.T) / m
    db = np.sum(dz) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost
''', expect_hint="opposite sign"),

    Entry(LOGISTIC, "optimize", "optimize/b-updated-with-dw", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * dw
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="updated with dw"),
    Entry(LOGISTIC, "optimize", "optimize/costs-never-recorded", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="costs is empty"),
    Entry(LOGISTIC, "optimize", "optimize/changes-the-callers-w", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w -= learning_rate * grads["dw"]
        b -= learning_rate * grads["db"]
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs
''', expect_hint="in place"),
    Entry(LOGISTIC, "optimize", "optimize/plus-sign", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w + learning_rate * dw
        b = b + learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
''', expect_hint="uphill"),

    Entry(LOGISTIC, "predict", "predict/threshold-on-z", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    z = np.dot(w.T, X) + b
    Y_prediction = (z > 0.5).astype(float)
    return Y_prediction
''', expect_hint="not for z"),
    Entry(LOGISTIC, "predict", "predict/all-ones", '''
def predict(w, b, X):
    m = X.shape[1]
    Y_prediction = np.ones((1, m))
    return Y_prediction
''', expect_hint="every label is 1"),
    Entry(LOGISTIC, "predict", "predict/w-not-transposed", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w, X) + b)
    Y_prediction = (A > 0.5).astype(float)
    return Y_prediction
''', expect_hint="transpose"),

    Entry(LOGISTIC, "model", "model/arguments-out-of-order", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, print_cost, learning_rate)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="in its order"),
    Entry(LOGISTIC, "model", "model/one-weight-per-example", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[1])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="wrong shape"),
    Entry(LOGISTIC, "model", "model/predictions-swapped", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_train)
    Y_prediction_train = predict(w, b, X_test)
    return {"costs": costs, "Y_prediction_test": Y_prediction_test, "Y_prediction_train": Y_prediction_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}
''', expect_hint="swapped"),
]
